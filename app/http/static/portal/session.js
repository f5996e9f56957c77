// The bearer token of the signed-in person, for this browser tab only.
const KEY = "fulfillment-portal-token";
export function token() {
    return sessionStorage.getItem(KEY);
}
export function signIn(bearer) {
    sessionStorage.setItem(KEY, bearer.trim());
}
export function signOut() {
    sessionStorage.removeItem(KEY);
}
