// Checks rendered Kubernetes manifests offline: every object against its schema (the
// kubernetes-models packages; Chaos Mesh's kinds in chaos.mjs), every key known to that
// schema, the deployment policy, and where each chaos experiment's selectors land.
//
//   node check.mjs [--pods-from F] NAME=FILE...  FILE holds one overlay's `kubectl kustomize`
//                                       output; chaos experiments' selectors are matched
//                                       against the pods of F's workloads (else FILE's own)
//   node check.mjs --self-test [--verbose] [--pods-from F] FILE...  proves the checks catch
//                                       what they claim, on copies of the objects in FILEs
//                                       broken on purpose (--verbose: each break and the
//                                       line that reported it)
//
// The models' validators are compiled JSON schemas: they reject wrong types and missing
// fields but ignore keys they do not know, so a misspelt key (readinesProbe) would pass.
// To find those, each object is validated through a proxy that records which keys the
// validator looked at; a key it never looked at is not in the schema.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { chaosBreaks, chaosProblems, isChaos } from "./chaos.mjs";

const require = createRequire(import.meta.url);

// API groups outside the core models, by the package that models them.
const packages = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

function modelOf(obj) {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    throw new Error("no apiVersion or kind");
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const pkg = packages[group] ?? "kubernetes-models";
  let module;
  try {
    module = require(`${pkg}/${apiVersion}`);
  } catch {
    throw new Error(`no schema for apiVersion ${apiVersion}`);
  }
  const model = module[kind];
  if (typeof model !== "function") throw new Error(`no schema for ${kind} in ${apiVersion}`);
  return model;
}

// Runs the model's validator on a proxy of obj; returns the paths of keys it never read.
function unknownKeys(model, obj) {
  const seen = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (!seen.has(value)) seen.set(value, new Set());
    const keys = seen.get(value);
    return new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") keys.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === "string") keys.add(key);
        return Reflect.has(target, key);
      },
    });
  };
  model.prototype.validate.call(wrap(obj));
  const unknown = [];
  const walk = (value, path) => {
    if (value === null || typeof value !== "object") return;
    const keys = seen.get(value);
    if (!keys) return; // the validator did not descend here (free-form content)
    for (const [key, child] of Object.entries(value)) {
      const at = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
      if (Array.isArray(value) || keys.has(key)) walk(child, at);
      else unknown.push(at);
    }
  };
  walk(obj, "");
  return unknown;
}

// The pod (metadata and spec) a workload makes, or undefined for other kinds.
function podTemplateOf(obj) {
  switch (obj.kind) {
    case "Pod":
      return obj;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return obj.spec?.template;
    case "CronJob":
      return obj.spec?.jobTemplate?.spec?.template;
    default:
      return undefined;
  }
}

function podSpecOf(obj) {
  return podTemplateOf(obj)?.spec;
}

function isTroupeContainer(c) {
  return c.name === "troupe" || /(^|\/)troupe-node(:|@|$)/.test(String(c.image ?? ""));
}

// The pods the workloads among objects would make, as the chaos selectors see them.
function podsOf(objects) {
  return objects.flatMap((obj) => {
    const pod = podTemplateOf(obj);
    if (!pod?.spec) return [];
    return [{
      workload: `${obj.kind} ${obj.metadata?.name}`,
      namespace: obj.metadata?.namespace ?? "default",
      labels: pod.metadata?.labels ?? {},
      annotations: pod.metadata?.annotations ?? {},
      troupe: (pod.spec.containers ?? []).some(isTroupeContainer),
    }];
  });
}

// The deployment policy: what every container must declare.
function policyProblems(obj) {
  const pod = podSpecOf(obj);
  if (!pod) return [];
  const problems = [];
  const podSecurity = pod.securityContext ?? {};
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const say = (what) => problems.push(`container ${c.name}: ${what}`);
    const sec = c.securityContext ?? {};
    const image = String(c.image ?? "");
    const isTroupe = isTroupeContainer(c);
    const init = (pod.initContainers ?? []).includes(c);
    const probes = init ? [] : isTroupe
      ? ["startupProbe", "livenessProbe", "readinessProbe"]
      : ["livenessProbe", "readinessProbe"];
    for (const probe of probes) if (!c[probe]) say(`no ${probe}`);
    for (const kind of ["requests", "limits"])
      for (const resource of ["cpu", "memory"])
        if (c.resources?.[kind]?.[resource] === undefined) say(`no ${kind}.${resource}`);
    const nonRoot = sec.runAsNonRoot ?? podSecurity.runAsNonRoot;
    const user = sec.runAsUser ?? podSecurity.runAsUser;
    if (nonRoot !== true) say("runAsNonRoot is not true");
    if (user === 0) say("runAsUser is 0");
    if (sec.readOnlyRootFilesystem !== true) say("readOnlyRootFilesystem is not true");
    if (sec.allowPrivilegeEscalation !== false) say("allowPrivilegeEscalation is not false");
    if (!(sec.capabilities?.drop ?? []).includes("ALL")) say("capabilities do not drop ALL");
    const seccomp = sec.seccompProfile?.type ?? podSecurity.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") say("no seccomp profile");
    const name = image.split("@")[0].split("/").pop();
    const digest = image.includes("@sha256:");
    if (!digest && !name.includes(":")) say(`image ${image} has no tag`);
    else if (name.endsWith(":latest")) say(`image ${image} uses the tag latest`);
  }
  return problems;
}

// kustomize folds long base64 values of generated Secrets over lines; the API server's
// decoder skips the line breaks, the schema's "byte" format does not.
function asSent(obj) {
  if (obj.kind !== "Secret" || !obj.data) return obj;
  const data = Object.fromEntries(
    Object.entries(obj.data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/\n/g, "") : v]));
  return { ...obj, data };
}

// Every problem of one object, each a line; `pods` (from podsOf) for chaos selectors.
function check(obj, pods) {
  const id = `${obj?.kind ?? "?"} ${obj?.metadata?.name ?? "?"}`;
  if (isChaos(obj)) return chaosProblems(obj, pods).map((p) => `${id}: ${p}`);
  let model;
  try {
    model = modelOf(obj);
  } catch (err) {
    return [`${id}: ${err.message}`];
  }
  const sent = asSent(obj);
  try {
    new model(sent).validate();
  } catch (err) {
    return [`${id}: schema: ${err.message}`];
  }
  return [
    ...unknownKeys(model, sent).map((path) => `${id}: unknown key ${path}`),
    ...policyProblems(obj).map((p) => `${id}: ${p}`),
  ];
}

function load(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null) objects.push(obj);
  }
  return objects;
}

// Breaks copies of the rendered objects the way a careless edit would and fails unless
// every break is reported; the untouched objects must pass.
function selfTest(objects, pods, verbose) {
  const c0 = (o) => podSpecOf(o).containers[0];
  // The kind broken, what the break is, a line the checks must report, and the break.
  const cases = [
    ["Deployment", "a misspelt key", /unknown key .*\.readinesProbe$/,
      (d) => renameKey(c0(d), "readinessProbe", "readinesProbe")],
    ["Deployment", "a misspelt nested key", /unknown key .*\.resources\.limts$/,
      (d) => renameKey(c0(d).resources, "limits", "limts")],
    ["Deployment", "a misspelt key in a list", /unknown key .*\.ports\[0\]\.protocl$/,
      (d) => renameKey(c0(d).ports[0], "protocol", "protocl")],
    ["Deployment", "a misspelt top-level key", /unknown key \.metdata$/, (d) => (d.metdata = {})],
    ["Deployment", "a missing startup probe", /no startupProbe/, (d) => delete c0(d).startupProbe],
    ["Deployment", "a missing liveness probe", /no livenessProbe/, (d) => delete c0(d).livenessProbe],
    ["Deployment", "missing limits", /no limits\.cpu/, (d) => delete c0(d).resources.limits],
    ["Deployment", "a root user", /runAsUser is 0/,
      (d) => (d.spec.template.spec.securityContext.runAsUser = 0)],
    ["Deployment", "a writable root filesystem", /readOnlyRootFilesystem/,
      (d) => delete c0(d).securityContext.readOnlyRootFilesystem],
    ["Deployment", "the tag latest", /uses the tag latest/,
      (d) => (c0(d).image = c0(d).image.replace(/:[^:/]*$/, ":latest"))],
    ["Deployment", "no tag", /has no tag/, (d) => (c0(d).image = c0(d).image.replace(/:[^:/]*$/, ""))],
    ["Deployment", "a wrong type", /schema: .*replicas/, (d) => (d.spec.replicas = "three")],
    ["StatefulSet", "a missing readiness probe", /no readinessProbe/,
      (d) => delete c0(d).readinessProbe],
    ["ServiceMonitor", "a misspelt key", /unknown key .*\.endpoints\[0\]\.pth$/,
      (d) => renameKey(d.spec.endpoints[0], "path", "pth")],
    ["Certificate", "a misspelt key", /unknown key \.spec\.dnsName$/,
      (d) => renameKey(d.spec, "dnsNames", "dnsName")],
    ...chaosBreaks,
  ];
  let failed = 0;
  const say = (line) => {
    console.error(`self-test: ${line}`);
    failed++;
  };
  for (const kind of new Set(cases.map(([k]) => k))) {
    const obj = objects.find((o) => o.kind === kind);
    if (!obj) say(`no ${kind} to break`);
    else if (check(obj, pods).length)
      say(`the untouched ${kind} fails:\n  ${check(obj, pods).join("\n  ")}`);
  }
  for (const [kind, what, expected, breakIt] of cases) {
    const obj = objects.find((o) => o.kind === kind);
    if (!obj) continue;
    const copy = structuredClone(obj);
    breakIt(copy);
    const problems = check(copy, pods);
    const caught = problems.find((p) => expected.test(p));
    if (caught && verbose) console.log(`self-test: ${what} in a ${kind}: ${caught}`);
    if (!caught)
      say(`${what} in a ${kind} was not reported (${expected}); got:\n  ${problems.join("\n  ") || "nothing"}`);
  }
  if (failed) process.exit(1);
  console.log(`self-test: all ${cases.length} broken copies caught`);
}

function renameKey(obj, from, to) {
  obj[to] = obj[from];
  delete obj[from];
}

let args = process.argv.slice(2);
const selfTesting = args[0] === "--self-test";
if (selfTesting) args = args.slice(1);
const verbose = args[0] === "--verbose";
if (verbose) args = args.slice(1);
let podsFrom;
if (args[0] === "--pods-from") [, podsFrom, ...args] = args;
if (selfTesting) {
  const objects = args.flatMap(load);
  selfTest(objects, podsOf(podsFrom ? load(podsFrom) : objects), verbose);
} else {
  let failed = 0;
  for (const arg of args) {
    const [name, file] = arg.split("=");
    const objects = load(file);
    const pods = podsOf(podsFrom ? load(podsFrom) : objects);
    const problems = objects.flatMap((obj) => check(obj, pods));
    for (const p of problems) console.error(`${name}: ${p}`);
    failed += problems.length;
    if (problems.length) continue;
    const chaos = objects.filter(isChaos).length;
    const reach = chaos ? `, ${chaos} chaos experiments select Troupe pods only` : "";
    console.log(`${name}: ${objects.length} objects valid, no unknown keys, policy met${reach}`);
  }
  if (failed) process.exit(1);
}
