using Microsoft.Extensions.Logging;
using StableDiffusion.Native.Cli;

namespace StableDiffusion.Native.Tests.Cli;

public sealed class StderrLoggerTests
{
    [Fact]
    public void An_error_with_an_exception_names_its_type_and_message_on_one_escaped_line()
    {
        var output = new StringWriter();
        ILogger logger = new StderrLogger(LogLevel.Warning, output);

        logger.LogError(new InvalidOperationException("the queue\nbroke \u001b[31m"), "An unhandled exception was thrown by the application.");

        string text = output.ToString();
        Assert.Equal(1, text.Count(c => c == '\n'));
        Assert.StartsWith("[error] An unhandled exception was thrown by the application. System.InvalidOperationException: the queue broke ", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', text);
    }

    [Fact]
    public void Lines_below_the_level_are_not_written()
    {
        var output = new StringWriter();
        ILogger logger = new StderrLogger(LogLevel.Warning, output);

        logger.LogInformation("listening");
        logger.LogWarning("slow");

        Assert.Equal("[warn] slow" + Environment.NewLine, output.ToString());
    }
}
