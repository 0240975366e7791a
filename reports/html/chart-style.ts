/** The look every chart shares: one sans-serif font, label sizes, a grey view frame. */
export const CHART_CONFIG = {
  aria: false,
  font: "sans-serif",
  view: { stroke: "#888" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};
