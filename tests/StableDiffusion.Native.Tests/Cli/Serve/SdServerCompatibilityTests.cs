using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StableDiffusion.Native.Cli.Serve;
using StableDiffusion.Native.TestModels;
using StableDiffusion.Native.Tests.Integration;
using static StableDiffusion.Native.Tests.Cli.Serve.ServerTestSupport;

namespace StableDiffusion.Native.Tests.Cli.Serve;

/// <summary>
/// What upstream's sd-server answers on /sdapi/v1 beyond A1111 (its api.md at the pin): LoRAs by path from
/// <c>--lora-model-dir</c>, the upscaler and latent-mode lists, and the hires fields by sd-server's names.
/// </summary>
[Collection(NativeToolCollection.Name)]
public sealed class SdServerCompatibilityTests(TinyGeneratorFixture fixture) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sdnet-serve-folders-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Txt2Img(string extra) => $$"""{"prompt":"a lighthouse","width":64,"height":64,"steps":2,"seed":11{{extra}}}""";

    private static async Task<byte[]> FirstImage(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return Convert.FromBase64String(body.GetProperty("images")[0].GetString()!);
    }

    [SkippableFact]
    public async Task Loras_are_listed_from_the_folder_and_applied_by_path_and_nothing_outside_it_can_be_named()
    {
        string loras = Directory.CreateDirectory(Path.Combine(_root, "loras")).FullName;
        Directory.CreateDirectory(Path.Combine(loras, "style"));
        File.Copy(TestModelFactory.Sd1Lora(), Path.Combine(loras, "style", "ink.safetensors"));
        File.WriteAllText(Path.Combine(loras, "notes.txt"), "not a model");
        string outside = Path.Combine(_root, "outside.safetensors");
        File.Copy(TestModelFactory.Sd1Lora(), outside);
        if (!OperatingSystem.IsWindows()) File.CreateSymbolicLink(Path.Combine(loras, "escape.safetensors"), outside);

        await using var server = await StartAsync(fixture.Generator, new ServeOptions { LoraDirectory = loras });
        using var client = Client(server);
        Assert.Equal("""[{"name":"ink","path":"style/ink.safetensors"}]""", await client.GetStringAsync("sdapi/v1/loras"));

        byte[] plain = await FirstImage(await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""))));
        byte[] styled = await FirstImage(await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","lora":[{"path":"style/ink.safetensors","multiplier":1.5}]"""))));
        Assert.Equal((64, 64), PngSize(styled));
        Assert.NotEqual(plain, styled);
        // The same file twice adds its multipliers, as sd-server's map does.
        byte[] twice = await FirstImage(await client.PostAsync("sdapi/v1/txt2img",
            Json(Txt2Img(""","lora":[{"path":"style/ink.safetensors","multiplier":1},{"path":"style/ink.safetensors","multiplier":0.5}]"""))));
        Assert.Equal(styled, twice);

        foreach (var (lora, expected) in new[]
        {
            ("""[{"path":"../outside.safetensors"}]""", "invalid lora path"),
            ($$"""[{"path":{{JsonSerializer.Serialize(outside)}}}]""", "invalid lora path"),
            ("""[{"path":"escape.safetensors"}]""", "invalid lora path"),
            ("""[{"path":"notes.txt"}]""", "invalid lora path"),
            ("""[{"multiplier":1}]""", "lora.path required"),
            ("""[{"path":"style/ink.safetensors","multiplier":"lots"}]""", "multiplier"),
            ("\"style/ink.safetensors\"", "array of objects"),
            ("[1]", "array of objects"),
        })
        {
            var refused = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(",\"lora\":" + lora)));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(expected, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public async Task Without_a_lora_folder_none_is_listed_and_naming_one_says_how_to_offer_them()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        Assert.Equal("[]", await client.GetStringAsync("sdapi/v1/loras"));
        var refused = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","lora":[{"path":"ink.safetensors"}]""")));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("--lora-model-dir", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Upscalers_and_latent_modes_are_listed_and_hires_takes_sd_servers_fields()
    {
        string upscalers = Directory.CreateDirectory(Path.Combine(_root, "upscalers")).FullName;
        File.Copy(ExtraTestModels.Esrgan(), Path.Combine(upscalers, "tiny-x4.safetensors"));
        Directory.CreateDirectory(Path.Combine(upscalers, "nested"));
        File.Copy(ExtraTestModels.Esrgan(), Path.Combine(upscalers, "nested", "deeper.safetensors"));
        await using var server = await StartAsync(fixture.Generator, new ServeOptions { UpscalersDirectory = upscalers });
        using var client = Client(server);

        var list = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/upscalers");
        Assert.Equal(["None", "Lanczos", "Nearest", "tiny-x4"], list.EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        Assert.Equal("ESRGAN_4x", list[3].GetProperty("model_name").GetString());
        Assert.Equal("tiny-x4.safetensors", list[3].GetProperty("model_path").GetString());
        Assert.Equal(JsonValueKind.Null, list[0].GetProperty("model_path").ValueKind);
        Assert.All(list.EnumerateArray(), u => Assert.Equal(4, u.GetProperty("scale").GetInt32()));
        var modes = await client.GetFromJsonAsync<JsonElement>("sdapi/v1/latent-upscale-modes");
        Assert.Equal(["Latent", "Latent (nearest)", "Latent (nearest-exact)", "Latent (antialiased)", "Latent (bicubic)", "Latent (bicubic antialiased)"],
            modes.EnumerateArray().Select(m => m.GetProperty("name").GetString()));

        // hr_resize_x/y set the target; "None" turns the pass off; a model of the folder is named by its stem.
        byte[] resized = await FirstImage(await client.PostAsync("sdapi/v1/txt2img",
            Json(Txt2Img(""","enable_hr":true,"hr_resize_x":128,"hr_resize_y":192,"hr_steps":1,"denoising_strength":0.5"""))));
        Assert.Equal((128, 192), PngSize(resized));
        byte[] off = await FirstImage(await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","enable_hr":true,"hr_upscaler":"None","hr_scale":2"""))));
        Assert.Equal((64, 64), PngSize(off));
        var byModel = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","enable_hr":true,"hr_upscaler":"tiny-x4","hr_scale":2,"hr_steps":1""")));
        byte[] upscaled = await FirstImage(byModel);
        Assert.Equal((128, 128), PngSize(upscaled));
        byte[] latent = await FirstImage(await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","enable_hr":true,"hr_upscaler":"Latent","hr_scale":2,"hr_steps":1"""))));
        Assert.Equal((128, 128), PngSize(latent));
        Assert.NotEqual(latent, upscaled);

        var nested = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","enable_hr":true,"hr_upscaler":"deeper","hr_scale":2""")));
        Assert.Equal(HttpStatusCode.BadRequest, nested.StatusCode);
        string nestedError = await nested.Content.ReadAsStringAsync();
        Assert.True(nestedError.Contains("hr_upscaler 'deeper' is not available", StringComparison.Ordinal) && nestedError.Contains("tiny-x4", StringComparison.Ordinal), nestedError);
    }

    [SkippableFact]
    public async Task Inpainting_mask_invert_takes_a_boolean_as_api_md_allows()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        string init = Convert.ToBase64String(fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 3))[0].EncodePng());
        var mask = Imaging.ImageBuffer.Create(Imaging.PixelFormat.Gray8, 64, 64, 0, static (span, _) =>
        {
            for (int i = 0; i < span.Length; i++) span[i] = (byte)(i % 64 < 32 ? 255 : 0);
        });
        using var maskPng = new MemoryStream();
        mask.SaveAsPng(maskPng);
        string Body(string invert) => $$"""{"prompt":"a door","init_images":["{{init}}"],"mask":"{{Convert.ToBase64String(maskPng.ToArray())}}","denoising_strength":1,"steps":2,"seed":3,"inpainting_mask_invert":{{invert}}}""";
        byte[] asBool = await FirstImage(await client.PostAsync("sdapi/v1/img2img", Json(Body("true"))));
        byte[] asInt = await FirstImage(await client.PostAsync("sdapi/v1/img2img", Json(Body("1"))));
        byte[] notInverted = await FirstImage(await client.PostAsync("sdapi/v1/img2img", Json(Body("false"))));
        Assert.Equal(asInt, asBool);
        Assert.NotEqual(notInverted, asBool);
    }

    [SkippableFact]
    public async Task Extra_images_and_several_edit_images_reach_the_request_as_reference_images()
    {
        await using var server = await StartAsync(fixture.Generator);
        using var client = Client(server);
        byte[] png = fixture.Generator.TextToImage(NativeTestEnvironment.Small(seed: 4))[0].EncodePng();
        string b64 = Convert.ToBase64String(png);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img($$""","extra_images":["{{b64}}"]""")))).StatusCode);
        var bad = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img(""","extra_images":["%%%"]""")));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("extra_images", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Past the library's bound of 16 references: refused by the library's own check, so they did reach the request.
        string seventeen = string.Join(",", Enumerable.Repeat($"\"{b64}\"", 17));
        var tooMany = await client.PostAsync("sdapi/v1/txt2img", Json(Txt2Img($",\"extra_images\":[{seventeen}]")));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("ReferenceImages", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        async Task<HttpResponseMessage> Edit(int count)
        {
            using var form = new MultipartFormDataContent();
            form.Add(new StringContent("a red door"), "prompt");
            form.Add(new StringContent("2"), "steps");
            for (int i = 0; i < count; i++)
            {
                var file = new ByteArrayContent(png);
                file.Headers.ContentType = new("image/png");
                form.Add(file, "image[]", $"in{i}.png");
            }
            return await client.PostAsync("v1/images/edits", form);
        }
        var two = await Edit(2);
        Assert.True(two.StatusCode == HttpStatusCode.OK, await two.Content.ReadAsStringAsync());
        var many = await Edit(17);
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.Contains("At most 16 images", await many.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
