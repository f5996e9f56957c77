// A small element builder: text goes in as text nodes, never as HTML.
export function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (value === null || value === undefined || value === false)
            continue;
        element.setAttribute(name, value === true ? "" : String(value));
    }
    append(element, ...children);
    return element;
}
export function append(parent, ...children) {
    for (const child of children) {
        if (child === null || child === undefined || child === false)
            continue;
        parent.append(typeof child === "number" ? String(child) : child);
    }
}
export function replace(parent, ...children) {
    parent.replaceChildren();
    append(parent, ...children);
}
export function on(element, event, handler) {
    element.addEventListener(event, (e) => void handler(e));
    return element;
}
export function field(label, control, hint) {
    const id = control.id || `field-${Math.random().toString(36).slice(2, 10)}`;
    control.id = id;
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
}
export function select(name, options, value) {
    const element = h("select", { name });
    for (const [optionValue, text] of options) {
        const option = h("option", { value: optionValue }, text);
        if (optionValue === value)
            option.selected = true;
        element.append(option);
    }
    return element;
}
export function input(name, attributes = {}) {
    return h("input", { name, ...attributes });
}
export function button(text, handler, attributes = {}) {
    const element = h("button", { type: "button", ...attributes }, text);
    element.addEventListener("click", () => {
        if (element.disabled)
            return;
        element.disabled = true;
        Promise.resolve(handler()).finally(() => {
            if (element.isConnected)
                element.disabled = false;
        });
    });
    return element;
}
