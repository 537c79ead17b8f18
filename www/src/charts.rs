//! Small SVG charts drawn with Yew's `html!`: line charts (linear or log y), and a colour scale.
//! One colour per method everywhere (Okabe–Ito, colour-blind safe); the dense model is a grey
//! dashed line.

use yew::prelude::*;

/// Okabe–Ito colours for the seven criteria, in registry order.
pub fn colour(method: &str) -> &'static str {
    match method {
        "magnitude" => "#E69F00",
        "snip" => "#56B4E9",
        "grasp" => "#009E73",
        "synflow" => "#F0E442",
        "snip-mag" => "#0072B2",
        "refer" => "#D55E00",
        "afr" => "#CC79A7",
        _ => "#777777",
    }
}

/// One line.
#[derive(Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub colour: String,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

/// A line chart. `log_y` plots log10(y) (non-positive values are dropped).
#[derive(Clone, PartialEq, Properties)]
pub struct LineChartProps {
    pub series: Vec<Series>,
    pub width: f64,
    pub height: f64,
    #[prop_or_default]
    pub log_y: bool,
    #[prop_or_default]
    pub x_label: String,
    #[prop_or_default]
    pub y_label: String,
    #[prop_or_default]
    pub title: String,
    #[prop_or_default]
    pub id: String,
    /// Shows SVG / PNG buttons that send (id, png?) here.
    #[prop_or_default]
    pub export: Option<Callback<(String, bool)>>,
}

fn nice(v: f64) -> String {
    if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.01) { format!("{v:.1e}") } else { format!("{:.3}", v).trim_end_matches('0').trim_end_matches('.').to_string() }
}

#[function_component(LineChart)]
pub fn line_chart(p: &LineChartProps) -> Html {
    let (ml, mr, mt, mb) = (46.0, 8.0, if p.title.is_empty() { 8.0 } else { 20.0 }, 30.0);
    let tf = |y: f64| if p.log_y { if y > 0.0 { Some(y.log10()) } else { None } } else { Some(y) };
    let pts: Vec<(f64, f64)> = p.series.iter().flat_map(|s| s.points.iter().filter_map(|&(x, y)| tf(y).map(|y| (x, y)))).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    let (x0, x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if !p.log_y {
        y0 = y0.min(0.0);
    }
    if !(y1 > y0) {
        y1 = y0 + 1.0;
    }
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let (w, h) = (p.width - ml - mr, p.height - mt - mb);
    let sx = |x: f64| ml + (x - x0) / (x1 - x0) * w;
    let sy = |y: f64| mt + h - (y - y0) / (y1 - y0) * h;
    let ticks: Vec<f64> = (0..=4).map(|i| y0 + (y1 - y0) * i as f64 / 4.0).collect();
    let lines = p.series.iter().map(|s| {
        let d: Vec<String> = s.points.iter().filter_map(|&(x, y)| tf(y).map(|y| format!("{:.1},{:.1}", sx(x), sy(y)))).collect();
        html! {
            <polyline points={d.join(" ")} fill="none" stroke={s.colour.clone()} stroke-width="1.6"
                stroke-dasharray={if s.dashed { "4 3" } else { "" }}>
                <title>{ s.label.clone() }</title>
            </polyline>
        }
    });
    let buttons = p.export.as_ref().filter(|_| !p.id.is_empty()).map(|cb| {
        let (svg, png) = (cb.clone(), cb.clone());
        let (a, b) = (p.id.clone(), p.id.clone());
        html! { <span class="chart-export">
            <button class="tiny" id={format!("{}-svg", p.id)} title="save as SVG" onclick={Callback::from(move |_| svg.emit((a.clone(), false)))}>{ "SVG" }</button>
            <button class="tiny" id={format!("{}-png", p.id)} title="save as PNG" onclick={Callback::from(move |_| png.emit((b.clone(), true)))}>{ "PNG" }</button>
        </span> }
    });
    html! {
      <figure class="chart-fig">
        <svg class="chart" id={p.id.clone()} width={p.width.to_string()} height={p.height.to_string()} xmlns="http://www.w3.org/2000/svg"
             viewBox={format!("0 0 {} {}", p.width, p.height)} role="img" aria-label={p.title.clone()}>
            <rect x="0" y="0" width={p.width.to_string()} height={p.height.to_string()} fill="white"/>
            if !p.title.is_empty() { <text x={ml.to_string()} y="13" font-size="12" font-weight="bold">{ p.title.clone() }</text> }
            { for ticks.iter().map(|t| html! {
                <>
                  <line x1={ml.to_string()} x2={(ml + w).to_string()} y1={sy(*t).to_string()} y2={sy(*t).to_string()} stroke="#e5e5e5"/>
                  <text x={(ml - 4.0).to_string()} y={(sy(*t) + 3.0).to_string()} font-size="9" text-anchor="end">
                    { if p.log_y { format!("1e{:.1}", t) } else { nice(*t) } }
                  </text>
                </>
            }) }
            <text x={(ml + w / 2.0).to_string()} y={(p.height - 4.0).to_string()} font-size="10" text-anchor="middle">{ p.x_label.clone() }</text>
            <text x="10" y={(mt + h / 2.0).to_string()} font-size="10" text-anchor="middle" transform={format!("rotate(-90 10 {})", mt + h / 2.0)}>{ p.y_label.clone() }</text>
            <text x={ml.to_string()} y={(mt + h + 12.0).to_string()} font-size="9">{ nice(x0) }</text>
            <text x={(ml + w).to_string()} y={(mt + h + 12.0).to_string()} font-size="9" text-anchor="end">{ nice(x1) }</text>
            { for lines }
        </svg>
        { for buttons }
      </figure>
    }
}

/// A cell colour for a value in [0, 1] (white → dark blue).
pub fn heat(v: f64) -> String {
    let v = v.clamp(0.0, 1.0);
    let (r, g, b) = (255.0 - 221.0 * v, 255.0 - 180.0 * v, 255.0 - 75.0 * v);
    format!("rgb({:.0},{:.0},{:.0})", r, g, b)
}
