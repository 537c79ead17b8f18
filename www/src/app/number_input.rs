//! A number field that keeps what the user is typing until they leave it.
//!
//! Yew sets an input's `value` from the virtual DOM on every render where the two differ, so a
//! plain `<input value=…>` loses half-typed text whenever anything re-renders the page — which,
//! during a run, the progress ticker does several times a second. This field holds the typed text
//! as a draft (shown instead of `value`) and hands it on at `change` (leaving the field, Enter,
//! the arrows); the parent parses and clamps it, and the field shows the parent's value again.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub id: AttrValue,
    /// The current setting, as the parent holds it.
    pub value: AttrValue,
    #[prop_or_default]
    pub min: Option<AttrValue>,
    #[prop_or_default]
    pub max: Option<AttrValue>,
    #[prop_or_default]
    pub step: Option<AttrValue>,
    /// Gets the text when the user commits it.
    pub onchange: Callback<String>,
}

#[function_component(NumberInput)]
pub fn number_input(p: &Props) -> Html {
    let draft = use_state(|| None::<String>);
    let oninput = {
        let draft = draft.clone();
        Callback::from(move |e: InputEvent| draft.set(Some(e.target_unchecked_into::<HtmlInputElement>().value())))
    };
    let onchange = {
        let (draft, emit) = (draft.clone(), p.onchange.clone());
        Callback::from(move |e: Event| {
            draft.set(None);
            emit.emit(e.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let value = (*draft).clone().map(AttrValue::from).unwrap_or_else(|| p.value.clone());
    html! {
        <input type="number" id={p.id.clone()} min={p.min.clone()} max={p.max.clone()} step={p.step.clone()}
            {value} {oninput} {onchange}/>
    }
}
