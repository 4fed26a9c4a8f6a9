import { loadConfig, subscribe } from './demo.js';

// The front page: the seed's clock and the hub's own figures, both over one subscription with two
// topics (the hub sends each update once, whichever topic matched).
const config = await loadConfig();
const number = new Intl.NumberFormat('en-US');
const source = subscribe(config, [config.topics.clock, config.topics.stats]);
source.addEventListener('message', (event) => {
  const data = JSON.parse(event.data);
  if ('time' in data) {
    const clock = document.querySelector('#clock');
    clock.dateTime = data.time;
    clock.textContent = new Date(data.time).toLocaleTimeString();
  } else {
    document.querySelector('#connections').textContent = number.format(data.connections);
    document.querySelector('#published').textContent = number.format(data.publishedPerSecond);
    document.querySelector('#delivered').textContent = number.format(data.deliveredPerSecond);
  }
});
