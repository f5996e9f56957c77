// The bearer token of the signed-in person, for this browser tab only.

const KEY = "fulfillment-portal-token";

export function token(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(bearer: string): void {
  sessionStorage.setItem(KEY, bearer.trim());
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}
