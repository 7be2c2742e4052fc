using System.Text;
using Microsoft.AspNetCore.Http;
using Scion.Server.FineTuning;
using Scion.Server.Requests;

namespace Scion.Fuzz.Targets;

/// <summary>
/// A request body, read as the server reads one (JsonFields.ReadAsync) and parsed by each endpoint's parser in turn:
/// POST /v1/completions, /v1/chat/completions (messages rendered with the model's template and tokenized) and
/// /v1/fine_tuning/jobs. Each parser gets the body even when another refused it, so one input covers all three.
/// </summary>
public sealed class RequestTarget : FuzzTarget
{
    public override string Name => "request";

    public override string Covers =>
        "JsonFields.ReadAsync, CompletionRequest.Parse, ChatRequest.Parse (messages, content parts, tools, template, " +
        "sampling fields, logit_bias, stop, max_tokens against the context) and FineTuningRequest.Parse (hyperparameters, " +
        "scion options) against a served stories260K.";

    public override void Run(byte[] input)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(input);
        var fields = JsonFields.ReadAsync(context.Request, CancellationToken.None).GetAwaiter().GetResult();
        var host = Fixtures.Host;
        Each(() => CompletionRequest.Parse(fields, host, Fixtures.ServerOptions));
        Each(() => ChatRequest.Parse(fields, host, Fixtures.ServerOptions));
        Each(() => FineTuningRequest.Parse(fields));
    }

    private static void Each(Func<object> parse)
    {
        try { _ = parse(); }
        catch (Exception e) when (ClearErrors.IsClear(e)) { }
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("completion.json", Encoding.UTF8.GetBytes("""
            {"model": "", "prompt": ["Once upon", [1, 20, 30]], "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "n": 2, "seed": 5,
             "stop": ["\n", "."], "logit_bias": {"13": -100, "5": 2.5}, "logprobs": 2, "echo": true, "stream": true, "stream_options": {"include_usage": true},
             "presence_penalty": 0.5, "frequency_penalty": -0.5}
            """));
        yield return ("chat.json", Encoding.UTF8.GetBytes("""
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
             {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Tell me a story"}],
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
             "max_completion_tokens": 16, "logprobs": true, "top_logprobs": 3, "response_format": {"type": "text"}, "top_k": 40, "min_p": 0.05}
            """));
        yield return ("fine-tuning.json", Encoding.UTF8.GetBytes("""
            {"model": "stories260K", "training_file": "file-abc", "validation_file": "file-def", "suffix": "my-run_1", "seed": 7,
             "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": "auto", "learning_rate_multiplier": 0.5}}},
             "scion": {"method": "dora", "rank": 4, "alpha": 8, "dropout": 0.1, "rslora": true, "targets": ["q_proj", "v_proj"], "learning_rate": 0.001,
                       "checkpoint_every": 10, "seq_len": 64, "warmup": 2}}
            """));
        yield return ("legacy-hyperparameters.json", Encoding.UTF8.GetBytes("""
            {"model": "stories260K", "training_file": "file-1", "hyperparameters": {"n_epochs": "auto", "batch_size": 4}}
            """));
    }
}
