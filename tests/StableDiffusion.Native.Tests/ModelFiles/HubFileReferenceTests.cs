using StableDiffusion.Native.ModelFiles;
using StableDiffusion.Native.Hub;

namespace StableDiffusion.Native.Tests.ModelFiles;

public sealed class HubFileReferenceTests
{
    [Theory]
    [InlineData("hf:stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly-fp16.safetensors", "stable-diffusion-v1-5", "stable-diffusion-v1-5", "v1-5-pruned-emaonly-fp16.safetensors", "main", "v1-5-pruned-emaonly-fp16.safetensors")]
    [InlineData("hf:o/r/vae/diffusion_pytorch_model.safetensors@refs/pr/1", "o", "r", "vae/diffusion_pytorch_model.safetensors", "refs/pr/1", "diffusion_pytorch_model.safetensors")]
    [InlineData("hf:o/r/a@b.safetensors@main", "o", "r", "a@b.safetensors", "main", "a@b.safetensors")]
    [InlineData("hf:Org_1/Model.v2/f.gguf@0123456789abcdef0123456789abcdef01234567", "Org_1", "Model.v2", "f.gguf", "0123456789abcdef0123456789abcdef01234567", "f.gguf")]
    public void Parse_splits_owner_repository_path_and_revision(string text, string owner, string repository, string path, string revision, string fileName)
    {
        var reference = HubFileReference.Parse(text);
        Assert.Equal(owner, reference.Owner);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(path, reference.Path);
        Assert.Equal(revision, reference.Revision);
        Assert.Equal(fileName, reference.FileName);
        Assert.Equal($"{owner}/{repository}", reference.RepositoryId);

        // The text form reads back to an equal reference.
        Assert.Equal(reference, HubFileReference.Parse(reference.ToString()));
        Assert.True(HubFileReference.TryParse(text, out var parsed));
        Assert.Equal(reference, parsed);
    }

    [Fact]
    public void ToString_omits_only_the_default_revision()
    {
        Assert.Equal("hf:o/r/f.safetensors", new HubFileReference("o", "r", "f.safetensors").ToString());
        Assert.Equal("hf:o/r/f.safetensors@v2", new HubFileReference("o", "r", "f.safetensors", "v2").ToString());
        Assert.Equal("hf:o/r/a@b@main", new HubFileReference("o", "r", "a@b").ToString());
    }

    [Theory]
    [InlineData("o/r/f.safetensors", "is not a hub file reference")]
    [InlineData("HF:o/r/f.safetensors", "is not a hub file reference")]
    [InlineData("hf:o/r", "names no file")]
    [InlineData("hf:/r/f", "the owner is empty")]
    [InlineData("hf:o//f", "the repository name is empty")]
    [InlineData("hf:o/r/", "the file path is empty")]
    [InlineData("hf:o/r/a//b", "has an empty segment")]
    [InlineData("hf:o/r/dir/", "has an empty segment")]
    [InlineData("hf:o/r/../x", "has a '..' segment")]
    [InlineData("hf:o/r/a/./x", "has a '.' segment")]
    [InlineData("hf:o/r/f@../x", "the revision '../x' has a '..' segment")]
    [InlineData("hf:o/../f", "the repository name '..' holds '..'")]
    [InlineData("hf:o/r/a\\b", "holds a backslash")]
    [InlineData("hf:o/r/a\u0007b", "holds a control character (U+0007)")]
    [InlineData("hf:o/r/a\nfamily: SDXL", "holds a control character (U+000A)")]
    [InlineData("hf:o/r/f@", "the revision is empty")]
    [InlineData("hf:o w/r/f", "may hold only letters, digits")]
    [InlineData("hf:o/r?x/f", "may hold only letters, digits")]
    public void Parse_refuses_malformed_references_saying_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => HubFileReference.Parse(text));
        Assert.Contains(expected, e.Message);
        Assert.Contains("hf:OWNER/REPO/PATH[@REVISION]", e.Message);

        // The message quotes the text escaped: one line, no control characters.
        Assert.DoesNotContain(e.Message, char.IsControl);
        Assert.False(HubFileReference.TryParse(text, out var result));
        Assert.Null(result);
    }

    [Fact]
    public void TryParse_of_null_is_false_and_Parse_of_null_throws()
    {
        Assert.False(HubFileReference.TryParse(null, out _));
        Assert.Throws<ArgumentNullException>(() => HubFileReference.Parse(null!));
    }

    [Fact]
    public void The_constructor_checks_each_part_and_names_it()
    {
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => new HubFileReference("o", "r", "a/../b")).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentException>(() => new HubFileReference("", "r", "f")).ParamName);
        Assert.Equal("repository", Assert.Throws<ArgumentException>(() => new HubFileReference("o", "r\\x", "f")).ParamName);
        Assert.Equal("revision", Assert.Throws<ArgumentException>(() => new HubFileReference("o", "r", "f", "")).ParamName);
        Assert.Throws<ArgumentNullException>(() => new HubFileReference("o", "r", null!));
    }

    [Fact]
    public void The_resolve_url_escapes_the_revision_as_one_segment_and_each_path_segment()
    {
        var reference = new HubFileReference("o", "r", "dir/a b#c%.safetensors", "refs/pr/1");
        Assert.Equal(
            "https://hub.example/mirror/o/r/resolve/refs%2Fpr%2F1/dir/a%20b%23c%25.safetensors",
            reference.ResolveUri(new Uri("https://hub.example/mirror/")).AbsoluteUri);
        Assert.Equal(
            "https://huggingface.co/o/r/resolve/main/f.gguf",
            new HubFileReference("o", "r", "f.gguf").ResolveUri(ModelPullOptions.DefaultEndpoint).AbsoluteUri);
    }
}
