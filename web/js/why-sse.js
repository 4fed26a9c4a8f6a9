import { loadConfig, subscribe } from './demo.js';

// This page shows no feed of its own; the status strip follows a live stream (the clock) as on
// every other page, so the connection it describes is there to watch.
const config = await loadConfig();
subscribe(config, config.topics.clock);
