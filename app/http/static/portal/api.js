// The portal's only way to the API: POST /graphql with a trusted document's id
// (documents/portal/, registered with `fulfillment documents register documents/`).
import { DOCUMENTS } from "./documents.js";
import { token } from "./session.js";
export class ApiError extends Error {
    problem;
    constructor(problem) {
        super(`${problem.code}: ${problem.message}`);
        this.problem = problem;
    }
}
async function post(body, bearer) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (bearer)
        headers["Authorization"] = `Bearer ${bearer}`;
    const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify(body) });
    let json;
    try {
        json = (await response.json());
    }
    catch {
        throw new ApiError({ code: `HTTP_${response.status}`, message: response.statusText || "No answer from the API." });
    }
    return { status: response.status, json };
}
/**
 * Runs a portal document by id. A server that has not registered it yet answers
 * PERSISTED_DOCUMENT_NOT_FOUND; then the exact registered text is sent once instead (with
 * TRUSTED_DOCUMENTS=enforce the server refuses it unless registered: DOCUMENT_NOT_TRUSTED).
 * The first request error (extensions.code and message) is thrown as an ApiError.
 */
export async function run(name, variables = {}, bearer = token()) {
    const document = DOCUMENTS[name];
    let { json } = await post({ documentId: document.id, operationName: name, variables }, bearer);
    if (firstCode(json) === "PERSISTED_DOCUMENT_NOT_FOUND") {
        ({ json } = await post({ query: document.text, operationName: name, variables }, bearer));
    }
    const first = json.errors?.[0];
    if (first) {
        throw new ApiError({ code: first.extensions?.code ?? "ERROR", message: first.message });
    }
    if (!json.data)
        throw new ApiError({ code: "ERROR", message: "The API answered without data." });
    return json.data;
}
function firstCode(json) {
    return json.errors?.[0]?.extensions?.code;
}
export function isUserError(result) {
    return "code" in result && "message" in result;
}
export function problemOf(error) {
    const details = [
        error.declineCode ? `decline code: ${error.declineCode}` : null,
        error.providerCode ? `provider code: ${error.providerCode}` : null,
        error.retryAfterSeconds ? `retry after ${error.retryAfterSeconds} s` : null,
    ].filter((d) => d !== null);
    return details.length ? { code: error.code, message: error.message, detail: details.join(", ") } : { code: error.code, message: error.message };
}
/** Downloads a PDF the API links to (same bearer token), as a file. */
export async function download(url, filename) {
    const bearer = token();
    const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
    const response = await fetch(url, { headers });
    if (!response.ok) {
        let problem = { code: `HTTP_${response.status}`, message: response.statusText };
        try {
            const body = (await response.json());
            if (body.error?.code)
                problem = { code: body.error.code, message: body.error.message ?? "" };
        }
        catch { }
        throw new ApiError(problem);
    }
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
export function newKey(prefix) {
    return `portal-${prefix}-${crypto.randomUUID()}`;
}
