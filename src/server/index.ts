// The public face of herald/server.
export {};
