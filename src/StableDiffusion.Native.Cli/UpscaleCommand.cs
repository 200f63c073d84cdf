using System.CommandLine;
using StableDiffusion.Native.ImageSharp;

namespace StableDiffusion.Native.Cli;

internal static class UpscaleCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "ESRGAN weights", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "Image to upscale", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output PNG", DefaultValueFactory = _ => "upscaled.png" };
        var factor = new Option<int?>("--factor") { Description = "Scale factor: the model's own (ESRGAN models have one); a different value is refused" };
        var threads = new Option<int?>("--threads", "-t") { Description = "CPU threads" };
        var tile = new Option<int>("--tile-size") { Description = "Tile edge in pixels", DefaultValueFactory = _ => 128 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show the native log" };
        var command = new Command("upscale", "Upscale an image with an ESRGAN model") { model, input, output, factor, threads, tile, verbose };
        command.SetAction(r => CliCommon.Run(() =>
        {
            var logger = CliCommon.Logger(r.GetValue(verbose));
            NativeRuntime.Logger = logger;
            var image = ImageSharpLoader.LoadRgb(r.GetValue(input)!);
            using var upscaler = Upscaler.Load(r.GetValue(model)!, r.GetValue(threads), r.GetValue(tile), logger: logger);
            var result = upscaler.Upscale(image, r.GetValue(factor));
            result.SaveAsPng(r.GetValue(output)!);
            Console.WriteLine($"{image.Width}x{image.Height} -> {result.Width}x{result.Height}: {r.GetValue(output)}");
            return 0;
        }));
        return command;
    }
}
