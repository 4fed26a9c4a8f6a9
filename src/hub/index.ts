// The public face of herald/hub.
export {};
