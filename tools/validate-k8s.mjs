// Validates rendered Kubernetes manifests offline (no cluster), two ways, for every object:
//  1. schema: the object's kubernetes-models / @kubernetes-models/prometheus-operator class validates it against
//     the API's OpenAPI schema (required fields, types, formats, enums);
//  2. unknown fields: the same packages' TypeScript types, with tsc's excess-property check (the schemas allow
//     unknown fields, the API server drops them silently: a misspelt `readinesProbe` would pass 1).
// It also checks the alert rules a PrometheusRule embeds: with --rules-source FILE, spec.groups must equal the
// groups of that Prometheus rule file; with --rules-out FILE, the groups are written there for `promtool check rules`.
//
//   node tools/validate-k8s.mjs [--rules-source FILE] [--rules-out FILE] MANIFEST.yaml... ("-" reads stdin)
//
// Prints one line per object and exits 1 on any finding. Run `. scripts/tools.sh` first (npm ci in tools/).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import yaml from "js-yaml";
import ts from "typescript";

const toolsDir = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let rulesSource, rulesOut;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--rules-source") rulesSource = args[++i];
  else if (args[i] === "--rules-out") rulesOut = args[++i];
  else inputs.push(args[i]);
}
if (inputs.length === 0) {
  console.error("usage: node tools/validate-k8s.mjs [--rules-source FILE] [--rules-out FILE] MANIFEST.yaml... (- for stdin)");
  process.exit(2);
}

// apiVersion + kind -> the module that models it.
function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

const findings = [];
const objects = [];
for (const input of inputs) {
  const text = readFileSync(input === "-" ? 0 : input, "utf8");
  let docs;
  try {
    docs = yaml.loadAll(text);
  } catch (e) {
    findings.push(`${input}: not valid YAML: ${e.message}`);
    continue;
  }
  for (const doc of docs) {
    if (doc == null) continue;
    const name = `${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
    if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
      findings.push(`${input}: ${name}: apiVersion and kind are required`);
      continue;
    }
    objects.push({ input, name, doc, module: modulePath(doc.apiVersion, doc.kind) });
  }
}

// 1. Schema validation.
for (const o of objects) {
  let Model;
  try {
    Model = (await import(o.module))[o.doc.kind];
  } catch {
    findings.push(`${o.input}: ${o.name}: no schema for ${o.doc.apiVersion} ${o.doc.kind} (${o.module})`);
    o.skipTypes = true;
    continue;
  }
  try {
    new Model(o.doc).validate();
    console.log(`schema ok: ${o.doc.apiVersion} ${o.name}`);
  } catch (e) {
    findings.push(`${o.input}: ${o.name}: ${e.message}`);
  }
}

// 2. Unknown fields: one virtual TypeScript file assigning each object to its API type.
const typed = objects.filter((o) => !o.skipTypes);
if (typed.length > 0) {
  const file = join(toolsDir, "__rendered_manifests__.ts");
  const lines = [];
  typed.forEach((o, i) => lines.push(`import type { I${o.doc.kind} as T${i} } from ${JSON.stringify(o.module)};`));
  typed.forEach((o, i) => {
    o.line = lines.length;
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o.doc)};`);
  });
  const source = lines.join("\n");
  const options = {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, source, lang, true) : getSourceFile.call(host, f, lang, ...rest);
  host.fileExists = (f) => f === file || fileExists.call(host, f);
  host.readFile = (f) => (f === file ? source : readFile.call(host, f));
  const program = ts.createProgram([file], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
    if (d.file?.fileName === file) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const o = typed.find((x) => x.line === line);
      findings.push(`${o ? `${o.input}: ${o.name}` : file}: ${message}`);
    } else {
      findings.push(`typescript: ${message}`);
    }
  }
  if (findings.length === 0) console.log(`types ok: ${typed.length} objects have no unknown fields`);
}

// 3. The alert rules of PrometheusRule objects.
const rules = objects.filter((o) => o.doc.kind === "PrometheusRule");
if (rulesSource) {
  const source = yaml.load(readFileSync(rulesSource, "utf8"));
  if (rules.length === 0) findings.push(`--rules-source given but no PrometheusRule was rendered`);
  for (const o of rules) {
    if (!isDeepStrictEqual(o.doc.spec?.groups, source?.groups)) {
      findings.push(`${o.input}: ${o.name}: spec.groups differ from the groups in ${rulesSource}`);
    } else {
      console.log(`rules ok: ${o.name} spec.groups equal ${rulesSource}`);
    }
  }
}
if (rulesOut) {
  if (rules.length !== 1) findings.push(`--rules-out needs exactly one PrometheusRule, found ${rules.length}`);
  else writeFileSync(rulesOut, yaml.dump({ groups: rules[0].doc.spec.groups }, { lineWidth: -1 }));
}

for (const f of findings) console.error(`INVALID ${f}`);
console.log(`${objects.length} objects, ${findings.length} findings`);
process.exit(findings.length === 0 ? 0 : 1);
