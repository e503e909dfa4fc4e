// @ts-check
/**
 * A server-sent events parser (the WHATWG "event stream" format): text in, events out. The page
 * reads the stream with fetch() rather than EventSource because EventSource cannot send the
 * Authorization header an API key needs.
 */

/** @typedef {{ event: string, data: string, id: string | undefined }} SseEvent */

export class SseParser {
  #buffer = '';
  #event = '';
  /** @type {string[]} */
  #data = [];
  /** @type {string | undefined} */
  #id;

  /**
   * Feeds a chunk of decoded text; returns the events it completed, in order.
   * @param {string} chunk
   * @returns {SseEvent[]}
   */
  feed(chunk) {
    /** @type {SseEvent[]} */
    const events = [];
    this.#buffer += chunk;
    // A line ends at \n, \r\n or \r. A trailing \r may be the first half of \r\n: keep it.
    const lines = this.#buffer.split(/\r\n|\n|\r(?!$)/);
    this.#buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (this.#data.length > 0) events.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
        this.#event = '';
        this.#data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.#event = value;
      else if (field === 'data') this.#data.push(value);
      else if (field === 'id' && !value.includes('\0')) this.#id = value;
    }
    return events;
  }
}
