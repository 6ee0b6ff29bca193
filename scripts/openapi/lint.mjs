// Lints an OpenAPI document: the official 3.1 JSON schema, then Troupe's own rules
// (operationIds, problem+json errors, resolvable refs). That the document lists exactly
// the routes the node serves is checked against the router itself, in tests/api.
// Usage: node lint.mjs <openapi.json>; exits 1 on any error.
import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const file = process.argv[2];
if (!file) {
  console.error("usage: node lint.mjs <openapi.json>");
  process.exit(2);
}

const errors = [];
const doc = JSON.parse(await readFile(file, "utf8"));

const validator = new Validator();
const result = await validator.validate(doc);
if (!result.valid)
  for (const e of [].concat(result.errors))
    errors.push(`schema: ${e.instancePath || "/"} ${e.message ?? JSON.stringify(e)}`);
if (!doc.openapi?.startsWith("3.1."))
  errors.push(`openapi: expected 3.1.x, found ${doc.openapi}`);

// Follows a local "#/..." reference; undefined when it does not resolve.
function resolve(ref) {
  if (!ref.startsWith("#/")) return undefined;
  let at = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (at === null || typeof at !== "object" || !(key in at)) return undefined;
    at = at[key];
  }
  return at;
}

const deref = (x) => (x && x.$ref ? resolve(x.$ref) : x);

(function checkRefs(node, path) {
  if (Array.isArray(node)) node.forEach((x, i) => checkRefs(x, `${path}/${i}`));
  else if (node && typeof node === "object")
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string" && resolve(v) === undefined)
        errors.push(`${path}: unresolved $ref ${v}`);
      checkRefs(v, `${path}/${k}`);
    }
})(doc, "#");

const problemRef = "#/components/schemas/Problem";
if (!resolve(problemRef)) errors.push("components: no Problem schema");

const found = [];
const operationIds = new Set();
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const method of methods) {
    const op = item[method];
    if (!op) continue;
    const name = `${method.toUpperCase()} ${path}`;
    found.push(name);
    if (!op.operationId) errors.push(`${name}: no operationId`);
    else if (operationIds.has(op.operationId))
      errors.push(`${name}: duplicate operationId ${op.operationId}`);
    else operationIds.add(op.operationId);
    const secured = (op.security ?? doc.security ?? []).some((s) => Object.keys(s).length > 0);
    for (const [code, raw] of Object.entries(op.responses ?? {})) {
      const res = deref(raw);
      if (!res) continue; // reported as an unresolved $ref
      if (!/^[1-5]\d\d$/.test(code)) errors.push(`${name} ${code}: not a concrete status code`);
      if (code >= "400") {
        const media = res.content?.["application/problem+json"];
        if (!media || media.schema?.$ref !== problemRef)
          errors.push(`${name} ${code}: errors must be application/problem+json with the Problem schema`);
        if (Object.keys(res.content ?? {}).length !== 1)
          errors.push(`${name} ${code}: errors have exactly one media type`);
      }
    }
    const codes = Object.keys(op.responses ?? {});
    if (!codes.some((c) => c.startsWith("2"))) errors.push(`${name}: no success response`);
    if (secured && !codes.includes("401")) errors.push(`${name}: secured but no 401 documented`);
    if (op.requestBody) {
      for (const c of ["400", "413", "415"])
        if (!codes.includes(c)) errors.push(`${name}: takes a body but documents no ${c}`);
    }
    if (path.includes("{") && !codes.includes("404") && !codes.includes("400"))
      errors.push(`${name}: has path parameters but documents neither 400 nor 404`);
  }
}

if (errors.length > 0) {
  for (const e of errors) console.error(`${file}: ${e}`);
  console.error(`${file}: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${doc.openapi}, ${found.length} operations, 0 errors`);
