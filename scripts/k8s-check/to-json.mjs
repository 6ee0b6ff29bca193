// Reads a multi-document YAML stream (what `kubectl kustomize` prints) on stdin and writes
// its documents as one JSON array on stdout, for tools that read JSON only.
import { parseAllDocuments } from "yaml";

let text = "";
for await (const chunk of process.stdin) text += chunk;
const objects = parseAllDocuments(text)
  .map((doc) => {
    if (doc.errors.length) throw new Error(doc.errors[0].message);
    return doc.toJSON();
  })
  .filter((o) => o !== null);
process.stdout.write(JSON.stringify(objects));
