using System.Text.Json;
using Scion.Server.FineTuning;

namespace Scion.Server.Endpoints;

/// <summary>OpenAI's file, fine-tuning job, event and checkpoint objects, field for field.</summary>
internal static class FineTuningJson
{
    public static void File(Utf8JsonWriter w, StoredFile f)
    {
        w.WriteStartObject();
        w.WriteString("id", f.Id);
        w.WriteString("object", "file");
        w.WriteNumber("bytes", f.Bytes);
        w.WriteNumber("created_at", f.CreatedAt);
        w.WriteNull("expires_at");
        w.WriteString("filename", f.Filename);
        w.WriteString("purpose", f.Purpose);
        w.WriteString("status", "processed");
        w.WriteNull("status_details");
        w.WriteEndObject();
    }

    public static void Job(Utf8JsonWriter w, StoredJob j)
    {
        var spec = JobSpec.FromJson(j.Spec);
        var r = spec.Resolved;
        w.WriteStartObject();
        w.WriteString("object", "fine_tuning.job");
        w.WriteString("id", j.Id);
        w.WriteNumber("created_at", j.CreatedAt);
        if (j.Error is { } e)
        {
            w.WriteStartObject("error");
            w.WriteString("code", e.Code);
            w.WriteString("message", e.Message);
            if (e.Param is null) w.WriteNull("param"); else w.WriteString("param", e.Param);
            w.WriteEndObject();
        }
        else w.WriteNull("error");
        Nullable(w, "fine_tuned_model", j.FineTunedModel);
        if (j.FinishedAt is { } f) w.WriteNumber("finished_at", f); else w.WriteNull("finished_at");
        w.WritePropertyName("hyperparameters");
        Hyperparameters(w, spec);
        w.WriteString("model", j.Model);
        w.WriteString("organization_id", "scion");
        w.WriteStartArray("result_files");
        w.WriteEndArray();
        w.WriteNumber("seed", j.Seed);
        w.WriteString("status", j.Status);
        if (j.Status is JobStatus.Succeeded || j.TrainedTokens > 0) w.WriteNumber("trained_tokens", j.TrainedTokens); else w.WriteNull("trained_tokens");
        w.WriteString("training_file", j.TrainingFile);
        Nullable(w, "validation_file", j.ValidationFile);
        Nullable(w, "user_provided_suffix", j.Suffix);
        w.WriteNull("estimated_finish");
        w.WriteStartArray("integrations");
        w.WriteEndArray();
        w.WriteNull("metadata");
        w.WriteStartObject("method");
        w.WriteString("type", "supervised");
        w.WriteStartObject("supervised");
        w.WritePropertyName("hyperparameters");
        Hyperparameters(w, spec);
        w.WriteEndObject();
        w.WriteEndObject();
        // Scion's own: the adapter options and what auto resolved to.
        w.WriteStartObject("scion");
        w.WriteString("method", spec.Method);
        w.WriteNumber("rank", spec.Rank);
        w.WriteNumber("alpha", spec.Alpha ?? 2.0 * spec.Rank);
        w.WriteNumber("dropout", spec.Dropout);
        w.WriteBoolean("rslora", spec.Rslora);
        w.WriteString("targets", spec.Targets);
        Nullable(w, "continued_from", spec.ContinueFrom);
        if (r is not null)
        {
            w.WriteNumber("learning_rate", r.LearningRate);
            w.WriteNumber("batch_tokens", r.BatchTokens);
            w.WriteNumber("checkpoint_every", r.CheckpointEvery);
            w.WriteNumber("train_examples", r.TrainExamples);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>As asked ("auto" included) until the files are validated, then the resolved numbers.</summary>
    private static void Hyperparameters(Utf8JsonWriter w, JobSpec spec)
    {
        var r = spec.Resolved;
        w.WriteStartObject();
        if (r is not null) w.WriteNumber("batch_size", r.BatchSize); else AutoOr(w, "batch_size", spec.BatchSize);
        if (r is not null) w.WriteNumber("learning_rate_multiplier", r.LearningRateMultiplier); else AutoOr(w, "learning_rate_multiplier", spec.LearningRateMultiplier);
        if (r is not null) w.WriteNumber("n_epochs", r.Epochs); else AutoOr(w, "n_epochs", spec.Epochs);
        w.WriteEndObject();
    }

    private static void AutoOr(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v); else w.WriteString(name, "auto");
    }

    private static void Nullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name); else w.WriteString(name, value);
    }

    public static void Event(Utf8JsonWriter w, JobEvent e)
    {
        w.WriteStartObject();
        w.WriteString("object", "fine_tuning.job.event");
        w.WriteString("id", e.Id);
        w.WriteNumber("created_at", e.CreatedAt);
        w.WriteString("level", e.Level);
        w.WriteString("message", e.Message);
        w.WritePropertyName("data");
        if (e.Data is null) { w.WriteStartObject(); w.WriteEndObject(); }
        else w.WriteRawValue(e.Data);
        w.WriteString("type", e.Type);
        w.WriteEndObject();
    }

    public static void Checkpoint(Utf8JsonWriter w, JobCheckpoint c)
    {
        w.WriteStartObject();
        w.WriteString("object", "fine_tuning.job.checkpoint");
        w.WriteString("id", c.Id);
        w.WriteNumber("created_at", c.CreatedAt);
        w.WriteString("fine_tuned_model_checkpoint", c.Model);
        w.WriteString("fine_tuning_job_id", c.JobId);
        w.WriteStartObject("metrics");
        w.WriteNumber("step", c.Step);
        if (c.TrainLoss is { } t && double.IsFinite(t)) w.WriteNumber("train_loss", t);
        if (c.ValidLoss is { } v && double.IsFinite(v)) w.WriteNumber("valid_loss", v);
        w.WriteEndObject();
        w.WriteNumber("step_number", c.Step);
        w.WriteEndObject();
    }

    public static byte[] List<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> item, bool hasMore) => Json.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var i in items) item(w, i);
        w.WriteEndArray();
        w.WriteBoolean("has_more", hasMore);
        w.WriteEndObject();
    });
}
