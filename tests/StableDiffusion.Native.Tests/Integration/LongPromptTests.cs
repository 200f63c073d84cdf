namespace StableDiffusion.Native.Tests.Integration;

/// <summary>
/// The prompt limit is not below what matters: upstream encodes a long prompt in 77-token chunks and conditions on all of
/// them, so words at the very end of a prompt at the limit still change the image.
/// </summary>
[Collection(NativeCollection.Name)]
public sealed class LongPromptTests(TinyGeneratorFixture fixture)
{
    [SkippableFact]
    public void The_last_words_of_a_prompt_at_the_limit_still_change_the_image()
    {
        var generator = fixture.Generator;
        string body = string.Concat(Enumerable.Repeat("a lighthouse on a cliff at dusk, ", ImageRequest.MaxPromptLength / 33))[..(ImageRequest.MaxPromptLength - 16)];
        string a = (body + "red sky").PadRight(ImageRequest.MaxPromptLength, '.');
        string b = (body + "green sea").PadRight(ImageRequest.MaxPromptLength, '.');
        Assert.Equal(ImageRequest.MaxPromptLength, a.Length);
        // Small()'s clip skip 12 runs one of CLIP's 12 layers per chunk: the chunking and the concatenation are what is
        // tested, and the other layers were nine tenths of the test's time.
        var request = NativeTestEnvironment.Small(seed: 9, steps: 1);
        var first = generator.TextToImage(request with { Prompt = a })[0].Image;
        var again = generator.TextToImage(request with { Prompt = a })[0].Image;
        var other = generator.TextToImage(request with { Prompt = b })[0].Image;
        PixelAssert.Identical(first, again);
        PixelAssert.Different(first, other);
    }
}
