using System.Reflection;
using System.Xml.Linq;
using StableDiffusion.Native.Cli;

namespace StableDiffusion.Native.Tests.Cli;

/// <summary>
/// Every exception the libraries document (the <c>&lt;exception cref&gt;</c> tags of their XML docs) reaches a
/// user of sdnet as one line and an exit code, never as a stack trace.
/// </summary>
public sealed class ExitCodeMapTests
{
    private static readonly string[] Libraries = ["StableDiffusion.Native", "StableDiffusion.Native.ImageSharp"];

    public static TheoryData<string> DocumentedExceptions()
    {
        var data = new TheoryData<string>();
        foreach (string name in DocumentedExceptionNames()) data.Add(name);
        return data;
    }

    private static SortedSet<string> DocumentedExceptionNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string library in Libraries)
        {
            string xml = Path.Combine(AppContext.BaseDirectory, library + ".xml");
            Assert.True(File.Exists(xml), $"{xml} is missing: the library must ship its XML docs");
            foreach (var e in XDocument.Load(xml).Descendants("exception"))
            {
                string? cref = e.Attribute("cref")?.Value;
                if (cref is not null && cref.StartsWith("T:", StringComparison.Ordinal)) names.Add(cref[2..]);
            }
        }
        return names;
    }

    [Fact]
    public void The_libraries_document_the_exceptions_they_throw()
    {
        var names = DocumentedExceptionNames();
        Assert.Contains("StableDiffusion.Native.GenerationException", names);
        Assert.Contains("StableDiffusion.Native.NativeRuntimeException", names);
        Assert.Contains("StableDiffusion.Native.ModelFiles.InvalidModelFileException", names);
        Assert.Contains("System.ArgumentException", names);
    }

    [Theory]
    [MemberData(nameof(DocumentedExceptions))]
    public void A_documented_exception_becomes_one_line_and_an_exit_code(string typeName)
    {
        var type = Resolve(typeName);
        Assert.True(typeof(Exception).IsAssignableFrom(type), $"{typeName} is not an exception");
        var exception = Create(type, "first line\nfake: second line\u001b]0;title\u0007");

        var mapped = CliCommon.Map(exception);
        Assert.True(mapped is not null, $"{typeName} is documented but sdnet would crash on it with a stack trace");
        var (code, message) = mapped!.Value;
        Assert.InRange(code, 1, 130);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\u001b', message);
        Assert.DoesNotContain(" at ", message[(message.IndexOf(':') + 1)..].Replace("first line", "", StringComparison.Ordinal));

        var error = new StringWriter();
        int exit = CliCommon.Run(() => throw exception, error);
        Assert.Equal(code, exit);
        Assert.Equal(message + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void The_families_map_to_their_exit_codes()
    {
        Assert.Equal(CliCommon.BadArguments, CliCommon.Map(new ArgumentOutOfRangeException("x"))!.Value.ExitCode);
        Assert.Equal(CliCommon.BadArguments, CliCommon.Map(new FormatException("x"))!.Value.ExitCode);
        Assert.Equal(CliCommon.NoRuntime, CliCommon.Map(new NativeAbiMismatchException("x", "lib.so"))!.Value.ExitCode);
        Assert.Equal(CliCommon.Failed, CliCommon.Map(new GenerationException("x"))!.Value.ExitCode);
        Assert.Equal(CliCommon.Cancelled, CliCommon.Map(new TaskCanceledException())!.Value.ExitCode);
        Assert.Null(CliCommon.Map(new NullReferenceException()));
    }

    private static Type Resolve(string name)
    {
        foreach (string library in Libraries)
        {
            if (Assembly.Load(library).GetType(name) is { } own) return own;
        }
        return Type.GetType(name) ?? typeof(object).Assembly.GetType(name) ?? typeof(Uri).Assembly.GetType(name)
            ?? throw new InvalidOperationException($"cannot resolve {name}");
    }

    private static Exception Create(Type type, string message)
    {
        if (type.GetConstructor([typeof(string)]) is { } withMessage) return (Exception)withMessage.Invoke([message]);
        if (type.GetConstructor([typeof(string), typeof(Exception)]) is { } withInner) return (Exception)withInner.Invoke([message, null]);
        return (Exception)Activator.CreateInstance(type, nonPublic: true)!;
    }
}
