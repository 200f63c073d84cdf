"use strict";
// The page of `sdnet serve`: A1111's txt2img for the image, its progress route for live steps and the preview.
(() => {
  const $ = (id) => document.getElementById(id);
  const history = [];
  let polling = null;

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

  function addToHistory(src, info) {
    history.unshift({ src, info });
    const item = document.createElement("li");
    const img = document.createElement("img");
    img.src = src;
    img.alt = info;
    img.title = info;
    img.addEventListener("click", () => show(src, info));
    item.appendChild(img);
    $("history").prepend(item);
  }

  function show(src, info) {
    $("image").src = src;
    $("parameters").textContent = info;
    $("output").hidden = false;
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
      const body = {
        prompt: $("prompt").value,
        negative_prompt: $("negative").value,
        width: Number($("width").value),
        height: Number($("height").value),
        steps: Number($("steps").value),
        seed: Number($("seed").value),
      };
      const result = await api("/sdapi/v1/txt2img", { method: "POST", body: JSON.stringify(body) });
      const info = JSON.parse(result.info);
      result.images.forEach((b64, i) => {
        const src = "data:image/png;base64," + b64;
        const text = (info.infotexts && info.infotexts[i]) || "";
        show(src, text);
        addToHistory(src, text);
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

  async function start() {
    $("form").addEventListener("submit", generate);
    $("interrupt").addEventListener("click", interrupt);
    try {
      const models = await api("/sdapi/v1/sd-models", { method: "GET" });
      if (models.length) $("model").textContent = models[0].title;
    } catch (e) {
      // The key row is shown by api() when one is needed.
    }
  }

  start();
})();
