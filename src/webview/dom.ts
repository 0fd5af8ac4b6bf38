// DOM helpers of the Terms view (browser only).

/** The element with this id; the view's HTML (src/extension/termsView.ts) has every one the script needs. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from the view's HTML`);
  return e as T;
}

/** A new element with a class and a text (texts come from ViewStrings, never from the script). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
