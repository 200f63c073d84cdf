using System.Diagnostics;
using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.TestModels;
using Xunit;

namespace StableDiffusion.Native.Tests.ModelFiles;

/// <summary>Seeded byte mutations of valid headers: nothing but <see cref="InvalidModelFileException"/> may escape, and nothing may hang.</summary>
public class MutationTests
{
    private const int Iterations = 2000;

    private static byte[] ValidGguf()
    {
        var w = new GgufWriter { WriteAlignmentKey = true };
        w.AddString("general.architecture", "sd").AddStringArray("tok", ["a", "b"]).AddInt32Array("n", [1, 2]);
        w.AddF32("a", [4, 2]).AddTensor("q", [32], 8, 32, 34);
        return w.ToArray();
    }

    public static TheoryData<string> Formats => new() { "safetensors", "gguf" };

    [Theory]
    [MemberData(nameof(Formats))]
    public void MutatedFilesOnlyEverThrowInvalidModelFileException(string format)
    {
        byte[] valid = format == "gguf" ? ValidGguf() : RawModelBytes.ValidSafetensors();
        Func<Stream, ModelFile> read = format == "gguf" ? s => GgufFile.Read(s) : s => SafetensorsFile.Read(s);
        read(new MemoryStream(valid)); // the seed is valid

        var random = new Random(20240607);
        var sw = Stopwatch.StartNew();
        int rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            byte[] mutated = Mutate(valid, random);
            try
            {
                read(new MemoryStream(mutated));
            }
            catch (InvalidModelFileException)
            {
                rejected++;
            }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {i}: {ex.GetType().Name} escaped: {ex.Message}\n{Convert.ToHexString(mutated)}");
            }
        }

        Assert.True(rejected > Iterations / 4, $"only {rejected} of {Iterations} mutations were rejected");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var bytes = new List<byte>(valid);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 3:
                    bytes.RemoveAt(at);
                    break;
                default:
                    bytes[at] = "{}[]\",:0-e\\"u8[random.Next(11)];
                    break;
            }

            if (bytes.Count == 0)
            {
                break;
            }
        }

        return [.. bytes];
    }
}
