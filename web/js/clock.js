import { loadConfig, subscribe } from './demo.js';

const config = await loadConfig();
const list = document.querySelector('#times');
const source = subscribe(config, config.topics.clock);
source.addEventListener('message', (event) => {
  const { time } = JSON.parse(event.data);
  const item = document.createElement('li');
  const stamp = document.createElement('time');
  stamp.dateTime = time;
  stamp.textContent = new Date(time).toLocaleTimeString();
  item.append(stamp);
  list.prepend(item);
  // Keep the page light when it stays open for hours.
  while (list.children.length > 30) list.lastElementChild.remove();
  document.querySelector('#count').textContent = String(
    Number(document.querySelector('#count').textContent) + 1,
  );
});
