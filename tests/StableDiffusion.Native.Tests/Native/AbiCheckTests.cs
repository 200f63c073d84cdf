using StableDiffusion.Native.Interop;

using StableDiffusion.Native.Native;

namespace StableDiffusion.Native.Tests.Native;

/// <summary>NativeRuntime.CompareAbi: what refuses a runtime built from another commit or with another struct layout.</summary>
public sealed class AbiCheckTests
{
    private const string OtherCommit = "0123456789abcdef0123456789abcdef01234567";

    private static Dictionary<string, long> NativeFacts() => SdLayout.Facts.ToDictionary(f => f.Name, f => f.Value, StringComparer.Ordinal);

    private static string? Compare(IReadOnlyDictionary<string, long> facts, string? nativeCommit = null)
        => NativeRuntimeLoader.CompareAbi(nativeCommit ?? Sd.UpstreamCommit, facts, Sd.UpstreamCommit, SdLayout.Facts);

    [Fact]
    public void Identical_commit_and_facts_are_accepted()
    {
        Assert.Null(Compare(NativeFacts()));
        // Commits compare case-insensitively (hex).
        Assert.Null(Compare(NativeFacts(), Sd.UpstreamCommit.ToUpperInvariant()));
    }

    [Fact]
    public void Another_commit_is_refused_naming_both_commits()
    {
        string? message = Compare(NativeFacts(), OtherCommit);
        Assert.NotNull(message);
        Assert.Contains(OtherCommit, message);
        Assert.Contains(Sd.UpstreamCommit, message);
    }

    [Fact]
    public void A_struct_of_another_size_is_refused_naming_the_struct_and_both_sizes()
    {
        var structFact = SdLayout.Facts.First(f => !f.Name.Contains('.') && f.Value > 8);
        var facts = NativeFacts();
        facts[structFact.Name] = structFact.Value + 8;

        string? message = Compare(facts);

        Assert.NotNull(message);
        Assert.Contains($"struct {structFact.Name} ", message);
        Assert.Contains($"is {structFact.Value + 8} bytes", message);
        Assert.Contains($"but {structFact.Value} in the bindings", message);
    }

    [Fact]
    public void A_field_at_another_offset_is_refused_naming_struct_dot_field_and_both_offsets()
    {
        var field = SdLayout.Facts.Last(f => f.Name.Contains('.') && f.Value > 0);
        var facts = NativeFacts();
        facts[field.Name] = field.Value + 4;

        string? message = Compare(facts);

        Assert.NotNull(message);
        Assert.Contains($"field {field.Name} ", message);
        Assert.Contains($"offset {field.Value + 4}", message);
        Assert.Contains($"at {field.Value} in the bindings", message);
    }

    [Fact]
    public void Every_single_tampered_fact_is_caught()
    {
        foreach (var fact in SdLayout.Facts)
        {
            var facts = NativeFacts();
            facts[fact.Name] = fact.Value + 1;
            string? message = Compare(facts);
            Assert.True(message is not null && message.Contains(fact.Name, StringComparison.Ordinal), $"{fact.Name}: {message}");
        }
    }

    [Fact]
    public void A_missing_fact_is_refused_naming_it()
    {
        var field = SdLayout.Facts.First(f => f.Name.Contains('.'));
        var structFact = SdLayout.Facts.First(f => !f.Name.Contains('.'));
        var noField = NativeFacts();
        noField.Remove(field.Name);
        var noStruct = NativeFacts();
        noStruct.Remove(structFact.Name);

        string? fieldMessage = Compare(noField);
        string? structMessage = Compare(noStruct);

        Assert.NotNull(fieldMessage);
        Assert.Contains($"no field {field.Name}", fieldMessage);
        Assert.NotNull(structMessage);
        Assert.Contains($"no struct {structFact.Name}", structMessage);
    }

    [Fact]
    public void An_extra_fact_in_the_runtime_is_refused()
    {
        var facts = NativeFacts();
        facts["sd_new_struct_t"] = 64;
        string? message = Compare(facts);
        Assert.NotNull(message);
        Assert.Contains($"{SdLayout.Facts.Length + 1} layout facts", message);
    }

    [Fact]
    public void A_commit_mismatch_is_reported_before_layout_differences()
    {
        var facts = NativeFacts();
        facts[SdLayout.Facts[0].Name] = -1;
        string? message = Compare(facts, OtherCommit);
        Assert.NotNull(message);
        Assert.Contains(OtherCommit, message);
        Assert.DoesNotContain(SdLayout.Facts[0].Name + " ", message);
    }
}
