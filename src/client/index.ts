// The public face of herald/client.
export {};
