"use strict";
// The page of `sdnet serve`: A1111's txt2img and img2img for the image, its lists for the model, sampler and scheduler
// pickers, and its progress route for live steps and the preview. Everything the page shows comes from this server.
(() => {
  const $ = (id) => document.getElementById(id);
  let polling = null;
  let initImage = null; // a data URL of the uploaded start image, or null for text to image
  let shown = null;     // the parameters (A1111's info) of the image on display

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = sessionStorage.getItem("sdnet-key") || $("key").value;
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  async function api(path, options) {
    const response = await fetch(path, { ...options, headers: headers() });
    if (response.status === 401) {
      $("key-row").hidden = false;
      throw new Error("This server needs an API key: enter it above and generate again.");
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && (body.detail || (body.error && body.error.message))) || response.statusText);
    return body;
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = !message;
  }

  function fill(select, items) {
    select.replaceChildren(...items.map(([value, label]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      return option;
    }));
  }

  async function poll() {
    try {
      const p = await api("/sdapi/v1/progress", { method: "GET" });
      const s = p.state || {};
      if (s.sampling_steps > 0 && s.job) {
        $("bar").hidden = false;
        $("bar").value = p.progress;
        $("step").textContent = `step ${s.sampling_step}/${s.sampling_steps}` + (s.job_count > 1 ? ` (${s.job_count - 1} waiting)` : "");
      }
      if (p.current_image) {
        $("preview").src = "data:image/png;base64," + p.current_image;
        $("preview").hidden = false;
      }
    } catch (e) {
      // A missed progress report is not an error worth showing; the generation itself reports its own.
    }
  }

  function addToHistory(src, text, info) {
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = src;
    img.alt = text;
    img.title = text;
    img.addEventListener("click", () => show(src, text, info));
    item.appendChild(img);
    $("history").prepend(item);
  }

  function show(src, text, info) {
    $("image").src = src;
    $("parameters").textContent = text;
    $("output").hidden = false;
    shown = info;
  }

  // "Use these settings again": the form takes the shown image's parameters, seed included.
  function reuse() {
    if (!shown) return;
    const set = (id, value) => { if (value !== undefined && value !== null) $(id).value = value; };
    set("prompt", shown.prompt);
    set("negative", shown.negative_prompt);
    set("width", shown.width);
    set("height", shown.height);
    set("steps", shown.steps);
    set("seed", shown.seed);
    set("cfg", shown.cfg_scale);
    if (shown.sampler_name && [...$("sampler").options].some((o) => o.value === shown.sampler_name)) $("sampler").value = shown.sampler_name;
    if (shown.scheduler && [...$("scheduler").options].some((o) => o.value === shown.scheduler)) $("scheduler").value = shown.scheduler;
    const model = shown.sd_model_name && [...$("model-select").options].find((o) => o.textContent === shown.sd_model_name);
    if (model) {
      $("model-select").value = model.value;
      $("model").textContent = model.value;
    }
    if (shown.denoising_strength !== undefined && shown.denoising_strength !== null && initImage) $("strength").value = shown.denoising_strength;
  }

  function readInit() {
    const file = $("init").files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      initImage = reader.result;
      $("init-preview").src = initImage;
      $("init-preview").hidden = false;
      $("clear-init").disabled = false;
    };
    reader.onerror = () => showError("The start image could not be read.");
    reader.readAsDataURL(file);
  }

  function clearInit() {
    initImage = null;
    $("init").value = "";
    $("init-preview").hidden = true;
    $("init-preview").removeAttribute("src");
    $("clear-init").disabled = true;
  }

  async function generate(event) {
    event.preventDefault();
    const key = $("key").value;
    if (key) sessionStorage.setItem("sdnet-key", key);
    showError("");
    $("generate").disabled = true;
    $("interrupt").disabled = false;
    $("step").textContent = "loading…";
    $("bar").value = 0;
    polling = setInterval(poll, 400);
    try {
      if (!$("model-select").options.length) await loadLists();
      const body = {
        prompt: $("prompt").value,
        negative_prompt: $("negative").value,
        width: Number($("width").value),
        height: Number($("height").value),
        steps: Number($("steps").value),
        seed: Number($("seed").value),
        cfg_scale: Number($("cfg").value),
        scheduler: $("scheduler").value,
        override_settings: { sd_model_checkpoint: $("model-select").value },
      };
      if ($("sampler").value) body.sampler_name = $("sampler").value;
      let route = "/sdapi/v1/txt2img";
      if (initImage) {
        route = "/sdapi/v1/img2img";
        body.init_images = [initImage];
        body.denoising_strength = Number($("strength").value);
      }
      const result = await api(route, { method: "POST", body: JSON.stringify(body) });
      const info = JSON.parse(result.info);
      result.images.forEach((b64, i) => {
        const src = "data:image/png;base64," + b64;
        // A1111's infotext ends with the model that made the image; a server of several models answers with any of them.
        const ownText = (info.infotexts && info.infotexts[i]) || "";
        const text = info.sd_model_name ? (ownText ? `${ownText}, Model: ${info.sd_model_name}` : `Model: ${info.sd_model_name}`) : ownText;
        const own = { ...info, seed: (info.all_seeds && info.all_seeds[i]) ?? info.seed, denoising_strength: initImage ? body.denoising_strength : null };
        show(src, text, own);
        addToHistory(src, text, own);
      });
      $("step").textContent = `done: seed ${info.seed}`;
    } catch (e) {
      showError(e.message);
      $("step").textContent = "";
    } finally {
      clearInterval(polling);
      $("generate").disabled = false;
      $("interrupt").disabled = true;
      $("bar").hidden = true;
      $("preview").hidden = true;
    }
  }

  async function interrupt() {
    try {
      await api("/sdapi/v1/interrupt", { method: "POST", body: "{}" });
    } catch (e) {
      showError(e.message);
    }
  }

  // The pickers hold exactly what this server serves and accepts.
  async function loadLists() {
    const [models, samplers, schedulers] = await Promise.all([
      api("/sdapi/v1/sd-models", { method: "GET" }),
      api("/sdapi/v1/samplers", { method: "GET" }),
      api("/sdapi/v1/schedulers", { method: "GET" }),
    ]);
    fill($("sampler"), [["", "Default"], ...samplers.map((s) => [s.name, s.name])]);
    fill($("scheduler"), schedulers.map((s) => [s.name, s.label]));
    fill($("model-select"), models.map((m) => [m.title, m.model_name]));
    if (models.length) $("model").textContent = models[0].title;
  }

  async function start() {
    $("form").addEventListener("submit", generate);
    $("interrupt").addEventListener("click", interrupt);
    $("reuse").addEventListener("click", reuse);
    $("init").addEventListener("change", readInit);
    $("clear-init").addEventListener("click", clearInit);
    $("model-select").addEventListener("change", () => { $("model").textContent = $("model-select").value; });
    await loadLists().catch(() => {
      // The key row is shown by api() when one is needed; the lists load again with the first generation.
    });
  }

  start();
})();
