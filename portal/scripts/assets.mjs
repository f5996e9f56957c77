// Copies the page and its styles next to the compiled scripts in app/http/static/portal/.
import { copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "app", "http", "static", "portal");
for (const name of ["index.html", "portal.css"]) {
  copyFileSync(join(here, "..", name), join(out, name));
}
