// The shapes of the portal documents' answers (documents/portal/*.graphql).
export {};
