using System.CommandLine;
using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Cli;
using StableDiffusion.Native.Cli.SdCli;
using StableDiffusion.Native.Imaging;

namespace StableDiffusion.Native.Tests.Cli.SdCli;

/// <summary>
/// Parses sdnet's generation commands in-process and reads the parse into a <see cref="GenerationPlan"/>, with input
/// files made on the fly. Nothing is loaded or generated, so no native runtime is needed.
/// </summary>
internal sealed class SdCliHarness : IDisposable
{
    private readonly TempDirectory temp = new("sdn-sdcli");

    public SdCliHarness()
    {
        // Model files are only resolved here, never opened: any bytes will do.
        Model = this.temp.Put("model.safetensors", [0]);
    }

    public string Model { get; }

    public string Dir => this.temp.Path;

    public void Dispose() => this.temp.Dispose();

    /// <summary>A file with a few bytes, for flags that only take a path.</summary>
    public string File(string name) => System.IO.File.Exists(Path.Combine(Dir, name)) ? Path.Combine(Dir, name) : this.temp.Put(name, [1, 2, 3]);

    /// <summary>A PNG of one colour.</summary>
    public string Png(string name, int width, int height, byte value = 128)
    {
        string path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ImageBuffer.Filled(PixelFormat.Rgb24, width, height, [value, value, value]).SaveAsPng(path);
        return path;
    }

    /// <summary>A folder of <paramref name="count"/> PNGs named so that name order is the order of their values.</summary>
    public string Frames(string name, int count, int width, int height)
    {
        for (int i = 0; i < count; i++) Png(Path.Combine(name, $"{i:D2}.png"), width, height, (byte)(10 * i));
        return Path.Combine(Dir, name);
    }

    /// <summary>A 16-bit PCM WAV of a few samples.</summary>
    public string Wav(string name, int rate = 8000, short[]? samples = null, int channels = 1)
    {
        samples ??= [0, 16384, -16384, 32767];
        using var data = new MemoryStream();
        using (var w = new BinaryWriter(data))
        {
            w.Write("RIFF"u8);
            w.Write(36 + samples.Length * 2);
            w.Write("WAVE"u8);
            w.Write("fmt "u8);
            w.Write(16);
            w.Write((short)1);
            w.Write((short)channels);
            w.Write(rate);
            w.Write(rate * 2 * channels);
            w.Write((short)(2 * channels));
            w.Write((short)16);
            w.Write("data"u8);
            w.Write(samples.Length * 2);
            foreach (short s in samples) w.Write(s);
        }
        return this.temp.Put(name, data.ToArray());
    }

    public (GenerationPlan Plan, ListLogger Log) Generate(params string[] args) => Read("generate", RunMode.Image, args);

    public (GenerationPlan Plan, ListLogger Log) Video(params string[] args) => Read("video", RunMode.Video, args);

    /// <summary>Parses without the model flag added (the command line is as given).</summary>
    public static (GenerationPlan Plan, ListLogger Log) ReadAsIs(string command, params string[] args)
        => ReadCommand(command == "video" ? VideoCommand.Create() : GenerateCommand.Create(), command == "video" ? RunMode.Video : RunMode.Image, args);

    private (GenerationPlan, ListLogger) Read(string command, RunMode mode, string[] args)
        => ReadCommand(command == "video" ? VideoCommand.Create() : GenerateCommand.Create(), mode, ["-m", Model, .. args]);

    private static (GenerationPlan, ListLogger) ReadCommand(Command command, RunMode mode, string[] args)
    {
        var parse = command.Parse(args);
        Assert.True(parse.Errors.Count == 0, "parse errors: " + string.Join(" | ", parse.Errors.Select(e => e.Message)));
        var log = new ListLogger();
        return (GenerateCommand.Options(command).Read(parse, mode, log), log);
    }

    /// <summary>The error a bad command line gives: the parse error, or the read's exception message.</summary>
    public string ErrorOf(string command, params string[] args)
    {
        var c = command == "video" ? VideoCommand.Create() : GenerateCommand.Create();
        var parse = c.Parse(["-m", Model, .. args]);
        if (parse.Errors.Count > 0) return string.Join(" | ", parse.Errors.Select(e => e.Message));
        var e = Assert.ThrowsAny<ArgumentException>(() => GenerateCommand.Options(c).Read(parse, command == "video" ? RunMode.Video : RunMode.Image, new ListLogger()));
        return e.Message;
    }
}

/// <summary>A logger that keeps what it is told, for the warnings of a read.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Lines { get; } = [];

    public IEnumerable<string> Warnings => Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Message);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Lines.Add((logLevel, formatter(state, exception)));
}
