using System.Text;
using Scion.Training.Data;

namespace Scion.Fuzz.Targets;

/// <summary>A JSONL training file, read as `scion finetune` and the fine-tuning service read one.</summary>
public sealed class JsonlTarget : FuzzTarget
{
    public override string Name => "jsonl";

    public override string Covers =>
        "JsonlDataset.Load: per-line JSON (duplicate keys, lone surrogates), the text / prompt+completion / messages " +
        "forms, chat-template rendering of conversations and the assistant-turn masks, tokenization, truncation.";

    public override void Run(byte[] input)
    {
        string path = Scratch.File("train.jsonl", input);
        _ = JsonlDataset.Load(path, Fixtures.StoriesTokenizer, Fixtures.ChatTemplate, maxTokens: 64);
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("text.jsonl", Encoding.UTF8.GetBytes("{\"text\": \"Once upon a time there was a cat.\"}\n\n{\"text\": \"ünï \\u00e9 \\ud83d\\ude42\"}\n"));
        yield return ("prompt-completion.jsonl", Encoding.UTF8.GetBytes("{\"prompt\": \"Q: 2+2?\\nA:\", \"completion\": \" 4\"}\n{\"prompt\": \"\", \"completion\": \"all target\"}\n"));
        yield return ("messages.jsonl", Encoding.UTF8.GetBytes(
            "{\"messages\": [{\"role\": \"system\", \"content\": \"Be kind.\"}, {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}]}\n" +
            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}, {\"role\": \"user\", \"content\": \"c\"}, {\"role\": \"assistant\", \"content\": \"d\"}]}\n"));
    }
}
