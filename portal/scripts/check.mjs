// `npm run check` (make portal-check): fails when the committed build in
// app/http/static/portal/ is not what `npm run build` makes from src/ and documents/portal/.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const portal = join(here, "..");
const committed = join(portal, "..", "app", "http", "static", "portal");
const fresh = mkdtempSync(join(tmpdir(), "portal-check-"));
try {
  execFileSync(process.execPath, [join(here, "documents.mjs"), "--check"], { stdio: "inherit" });
  const tsc = join(portal, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(portal, "tsconfig.json"), "--outDir", fresh], { stdio: "inherit" });
  const expected = new Map(readdirSync(fresh).map((name) => [name, readFileSync(join(fresh, name))]));
  for (const name of ["index.html", "portal.css"]) expected.set(name, readFileSync(join(portal, name)));
  const problems = [];
  const present = new Set(readdirSync(committed));
  for (const [name, bytes] of expected) {
    if (!present.has(name)) problems.push(`${name} is missing`);
    else if (!readFileSync(join(committed, name)).equals(bytes)) problems.push(`${name} differs`);
  }
  for (const name of present) if (!expected.has(name)) problems.push(`${name} is not built from src/`);
  if (problems.length) {
    console.error(`app/http/static/portal/ is out of date (run \`make portal\`):\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log("app/http/static/portal/ matches portal/src and documents/portal/");
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
