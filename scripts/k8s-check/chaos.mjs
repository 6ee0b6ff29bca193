// Checks Chaos Mesh experiments (chaos-mesh.org/v1alpha1) offline. No npm package models
// Chaos Mesh's CRDs, so schemas/ holds JSON Schemas of the fields Troupe's experiments use,
// written from the CRDs' field documentation, with additionalProperties false at every
// level: a misspelt field or one outside that subset fails as an unknown key. On top of
// the schemas: what the Chaos Mesh webhook checks in a Workflow (its entry and children
// name templates, names are unique, an embedded experiment sets no duration), and where
// each pod selector lands among the pods the rendered workloads would make.
import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";

const require = createRequire(import.meta.url);
const Ajv = require("ajv").default;

const schemaDir = new URL("./schemas/", import.meta.url);
// Strict, except that a conditional "required" may name properties the enclosing schema defines.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
for (const file of readdirSync(schemaDir).filter((f) => f.endsWith(".json")))
  ajv.addSchema(JSON.parse(readFileSync(new URL(file, schemaDir), "utf8")));

const schemaOfKind = {
  PodChaos: "podchaos.json",
  NetworkChaos: "networkchaos.json",
  StressChaos: "stresschaos.json",
  Schedule: "schedule.json",
  Workflow: "workflow.json",
};

// Where a Schedule or a Workflow template keeps the experiment of each kind.
const embedded = { PodChaos: "podChaos", NetworkChaos: "networkChaos", StressChaos: "stressChaos" };

/// Whether obj is a Chaos Mesh object.
export function isChaos(obj) {
  return typeof obj?.apiVersion === "string" && obj.apiVersion.startsWith("chaos-mesh.org/");
}

// A JSON pointer as the rest of the checks print paths: .spec.templates[2].delay
function pathOf(pointer) {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
    .join("");
}

function schemaProblems(obj) {
  const id = schemaOfKind[obj.kind];
  if (!id || obj.apiVersion !== "chaos-mesh.org/v1alpha1")
    return [`no schema for ${obj.kind} in ${obj.apiVersion}`];
  const validate = ajv.getSchema(id);
  if (validate(obj)) return [];
  // An unmet "then" is reported with its reason already; the "if" line adds nothing.
  return validate.errors
    .filter((e) => e.keyword !== "if")
    .map((e) => {
      const at = pathOf(e.instancePath);
      if (e.keyword === "additionalProperties") return `unknown key ${at}.${e.params.additionalProperty}`;
      if (e.keyword === "enum") return `schema: ${at || "."} must be one of ${e.params.allowedValues.join(", ")}`;
      return `schema: ${at || "."} ${e.message}`;
    });
}

function workflowProblems(obj) {
  if (obj.kind !== "Workflow") return [];
  const templates = obj.spec.templates;
  const names = new Set();
  const problems = [];
  for (const t of templates) {
    if (names.has(t.name)) problems.push(`template name ${t.name} is not unique`);
    names.add(t.name);
  }
  if (!names.has(obj.spec.entry)) problems.push(`.spec.entry names no template: ${obj.spec.entry}`);
  templates.forEach((t, i) => {
    const at = `.spec.templates[${i}]`;
    for (const child of t.children ?? [])
      if (!names.has(child)) problems.push(`${at}.children names no template: ${child}`);
    for (const [kind, key] of Object.entries(embedded)) {
      if (t[key] === undefined) continue;
      if (t.templateType !== kind) problems.push(`${at}.${key} in a template of type ${t.templateType}`);
      if (t[key].duration !== undefined)
        problems.push(`${at}.${key}.duration set in a Workflow (the template's deadline bounds it)`);
    }
  });
  return problems;
}

// Every pod selector of obj (the experiment's and its network target's) with its path.
function selectorsOf(obj) {
  const found = [];
  const add = (spec, at) => {
    if (spec?.selector) found.push({ at: `${at}.selector`, selector: spec.selector });
    if (spec?.target?.selector) found.push({ at: `${at}.target.selector`, selector: spec.target.selector });
  };
  if (obj.kind === "Schedule") {
    for (const key of Object.values(embedded)) add(obj.spec[key], `.spec.${key}`);
  } else if (obj.kind === "Workflow") {
    obj.spec.templates.forEach((t, i) => {
      for (const key of Object.values(embedded)) add(t[key], `.spec.templates[${i}].${key}`);
    });
  } else {
    add(obj.spec, ".spec");
  }
  return found;
}

// Chaos Mesh's rules: every condition holds; without namespaces, the experiment's own.
function selects(selector, ownNamespace, pod) {
  const namespaces = selector.namespaces?.length ? selector.namespaces : [ownNamespace];
  if (!namespaces.includes(pod.namespace)) return false;
  const mapMatches = (wanted, have) =>
    Object.entries(wanted ?? {}).every(([k, v]) => Object.hasOwn(have, k) && have[k] === v);
  if (!mapMatches(selector.labelSelectors, pod.labels)) return false;
  if (!mapMatches(selector.annotationSelectors, pod.annotations)) return false;
  return (selector.expressionSelectors ?? []).every(({ key, operator, values = [] }) => {
    const has = Object.hasOwn(pod.labels, key);
    switch (operator) {
      case "In":
        return has && values.includes(pod.labels[key]);
      case "NotIn":
        return !has || !values.includes(pod.labels[key]);
      case "Exists":
        return has;
      default:
        return !has;
    }
  });
}

// A fault meant for Troupe must hit a Troupe pod, and only Troupe pods: the invariants are
// checked in the database, which must not be the one failing.
function selectorProblems(obj, pods) {
  const problems = [];
  for (const { at, selector } of selectorsOf(obj)) {
    const hit = pods.filter((pod) => selects(selector, obj.metadata.namespace, pod));
    if (!hit.some((pod) => pod.troupe)) {
      const where = selector.namespaces?.join(", ") ?? obj.metadata.namespace;
      problems.push(`${at} selects no Troupe pod (namespaces: ${where})`);
    }
    const others = hit.filter((pod) => !pod.troupe).map((pod) => pod.workload);
    if (others.length) problems.push(`${at} also selects the pods of ${others.join(", ")}`);
  }
  return problems;
}

/// Every problem of one Chaos Mesh object; with `pods` (what the rendered workloads' pod
/// templates would make: workload, namespace, labels, annotations, troupe), its selectors'
/// reach too.
export function chaosProblems(obj, pods) {
  const schema = schemaProblems(obj);
  if (schema.length) return schema;
  return [...workflowProblems(obj), ...(pods ? selectorProblems(obj, pods) : [])];
}

const templateOf = (workflow, type) => workflow.spec.templates.find((t) => t.templateType === type);

function rename(obj, from, to) {
  obj[to] = obj[from];
  delete obj[from];
}

/// Breaks of chaos objects the self-test must see reported, as check.mjs's own: the kind
/// broken, what the break is, a line the checks must report, and the break.
export const chaosBreaks = [
  ["PodChaos", "a wrong mode", /schema: \.spec\.mode must be one of one, all,/,
    (d) => (d.spec.mode = "single")],
  ["PodChaos", "a wrong action", /schema: \.spec\.action must be one of pod-kill,/,
    (d) => (d.spec.action = "kill")],
  ["PodChaos", "a selector that matches nothing", /\.spec\.selector selects no Troupe pod/,
    (d) => (d.spec.selector.labelSelectors = { "app.kubernetes.io/name": "troupe-node" })],
  ["NetworkChaos", "a misspelt field", /unknown key \.spec\.directon$/,
    (d) => rename(d.spec, "direction", "directon")],
  ["NetworkChaos", "a misspelt nested field", /unknown key \.spec\.delay\.latancy$/,
    (d) => ((d.spec.action = "delay"), (d.spec.delay = { latancy: "10ms" }))],
  ["NetworkChaos", "a wrong direction", /schema: \.spec\.direction must be one of to, from, both$/,
    (d) => (d.spec.direction = "sideways")],
  ["NetworkChaos", "a partition without a target", /schema: \.spec must have required property 'target'/,
    (d) => ((d.spec.action = "partition"), delete d.spec.target)],
  ["NetworkChaos", "a target in another namespace", /\.spec\.target\.selector selects no Troupe pod/,
    (d) => (d.spec.target.selector.namespaces = ["troupe"])],
  ["StressChaos", "a wrong type", /schema: \.spec\.stressors\.cpu\.workers must be integer/,
    (d) => (d.spec.stressors.cpu.workers = "two")],
  ["StressChaos", "a selector that takes the database too", /also selects the pods of StatefulSet postgres/,
    (d) => delete d.spec.selector.labelSelectors],
  ["Schedule", "a misspelt embedded field", /unknown key \.spec\.podchaos$/,
    (d) => rename(d.spec, "podChaos", "podchaos")],
  ["Workflow", "a misspelt field in an embedded experiment",
    /unknown key \.spec\.templates\[\d+\]\.networkChaos\.directon$/,
    (w) => rename(templateOf(w, "NetworkChaos").networkChaos, "direction", "directon")],
  ["Workflow", "a wrong template type", /schema: \.spec\.templates\[\d+\]\.templateType must be one of/,
    (w) => (templateOf(w, "Suspend").templateType = "Pause")],
  ["Workflow", "a child naming no template", /children names no template: pod-kil$/,
    (w) => (templateOf(w, "Serial").children[0] = "pod-kil")],
  ["Workflow", "a duration inside the campaign", /stressChaos\.duration set in a Workflow/,
    (w) => (templateOf(w, "StressChaos").stressChaos.duration = "1m")],
  ["Workflow", "a selector that matches nothing", /templates\[\d+\]\.podChaos\.selector selects no Troupe pod/,
    (w) => (templateOf(w, "PodChaos").podChaos.selector.namespaces = ["default"])],
];
