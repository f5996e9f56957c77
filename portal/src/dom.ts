// A small element builder: text goes in as text nodes, never as HTML.

export type Child = Node | string | number | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | null | undefined>;

export function h(tag: string, attributes: Attributes = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "number" ? String(child) : child);
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function on<K extends keyof HTMLElementEventMap>(
  element: HTMLElement,
  event: K,
  handler: (event: HTMLElementEventMap[K]) => void | Promise<void>,
): HTMLElement {
  element.addEventListener(event, (e) => void handler(e));
  return element;
}

export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `field-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
}

export function select(name: string, options: ReadonlyArray<readonly [string, string]>, value?: string): HTMLSelectElement {
  const element = h("select", { name }) as HTMLSelectElement;
  for (const [optionValue, text] of options) {
    const option = h("option", { value: optionValue }, text) as HTMLOptionElement;
    if (optionValue === value) option.selected = true;
    element.append(option);
  }
  return element;
}

export function input(name: string, attributes: Attributes = {}): HTMLInputElement {
  return h("input", { name, ...attributes }) as HTMLInputElement;
}

export function button(text: string, handler: () => void | Promise<void>, attributes: Attributes = {}): HTMLButtonElement {
  const element = h("button", { type: "button", ...attributes }, text) as HTMLButtonElement;
  element.addEventListener("click", () => {
    if (element.disabled) return;
    element.disabled = true;
    Promise.resolve(handler()).finally(() => {
      if (element.isConnected) element.disabled = false;
    });
  });
  return element;
}
