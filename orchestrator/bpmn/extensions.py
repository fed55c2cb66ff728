"""Read every Camunda extension of a BPMN element into a plain, JSON-ready dict.

SpiffWorkflow's stock Camunda parser drops most ``camunda:*`` attributes and keeps
``camunda:properties`` only on a few element kinds.  The orchestrator needs all of
them (topic, priority, agency, budgets, input/output mappings), so every parser here
stores the result of :func:`read_extensions` on ``task_spec.extensions``; SpiffWorkflow
serializes that attribute with the spec.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_CAMUNDA = f"{{{CAMUNDA_NS}}}"

# Extension elements that are read into structured keys; anything else is kept raw.
_STRUCTURED = {"properties", "inputOutput", "in", "out"}


def read_extensions(node: etree._Element) -> dict[str, Any]:
    """Return ``{"camunda": attrs, "properties": {...}, "inputs": [...], "outputs": [...],
    "call_in": [...], "call_out": [...], "xml": [raw unknown extension XML]}``, omitting empty keys."""
    result: dict[str, Any] = {}
    attributes = {
        etree.QName(name).localname: value for name, value in node.attrib.items() if name.startswith(_CAMUNDA)
    }
    if attributes:
        result["camunda"] = attributes
    for holder in node.findall(f"{{{BPMN_NS}}}extensionElements"):
        for child in holder:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions
            _read_extension_element(child, result)
    return result


def _read_extension_element(child: etree._Element, result: dict[str, Any]) -> None:
    qname = etree.QName(child)
    if qname.namespace == CAMUNDA_NS and qname.localname in _STRUCTURED:
        if qname.localname == "properties":
            props = result.setdefault("properties", {})
            for prop in child.findall(f"{_CAMUNDA}property"):
                if prop.get("name"):
                    props[prop.get("name")] = prop.get("value")
        elif qname.localname == "inputOutput":
            result.setdefault("inputs", []).extend(
                _parameter(p) for p in child.findall(f"{_CAMUNDA}inputParameter")
            )
            result.setdefault("outputs", []).extend(
                _parameter(p) for p in child.findall(f"{_CAMUNDA}outputParameter")
            )
        else:  # camunda:in / camunda:out on call activities
            result.setdefault(f"call_{qname.localname}", []).append(dict(child.attrib))
        return
    result.setdefault("xml", []).append(etree.tostring(child, encoding="unicode", with_tail=False))


def _parameter(node: etree._Element) -> dict[str, Any]:
    """An input/output parameter: text, ``camunda:list``, ``camunda:map`` or a (refused) script."""
    value_nodes = [c for c in node if isinstance(c.tag, str)]
    if not value_nodes:
        return {"name": node.get("name"), "kind": "text", "value": node.text or ""}
    return {"name": node.get("name"), **_value(value_nodes[0])}


def _value(node: etree._Element) -> dict[str, Any]:
    local = etree.QName(node).localname
    if local == "list":
        return {"kind": "list", "value": [_value(c) for c in node if isinstance(c.tag, str)]}
    if local == "map":
        return {
            "kind": "map",
            "value": {e.get("key"): _value_or_text(e) for e in node.findall(f"{_CAMUNDA}entry")},
        }
    if local == "script":
        return {"kind": "script", "value": node.text or "", "format": node.get("scriptFormat")}
    return {"kind": "text", "value": node.text or ""}


def _value_or_text(node: etree._Element) -> dict[str, Any]:
    children = [c for c in node if isinstance(c.tag, str)]
    return _value(children[0]) if children else {"kind": "text", "value": node.text or ""}


def property_value(extensions: dict[str, Any], name: str) -> str | None:
    """An extension property (``camunda:properties``) by name, or None."""
    return (extensions.get("properties") or {}).get(name)


def spec_property(task_spec: Any, name: str) -> str | None:
    """An element's extension property by name, from its parsed task spec, or None."""
    return property_value(getattr(task_spec, "extensions", None) or {}, name)


def spec_flag(task_spec: Any, name: str) -> bool:
    """A ``true``/``false`` extension property (``stopsClock``, ``returnsResult``) that is true."""
    return (spec_property(task_spec, name) or "").strip().lower() == "true"


def camunda_attribute(extensions: dict[str, Any], name: str) -> str | None:
    """A ``camunda:*`` attribute by local name, or None."""
    return (extensions.get("camunda") or {}).get(name)
