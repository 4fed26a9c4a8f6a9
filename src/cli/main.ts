#!/usr/bin/env node
// The `herald` command. Placeholder until the hub lands.
console.log('herald: the hub is not built yet');
