/** The Tandem mark: two overlapping circles (two key shares, one signature) on a dark rounded square. */
export const TANDEM_ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">' +
  '<rect width="96" height="96" rx="20" fill="#111827"/>' +
  '<circle cx="38" cy="48" r="22" fill="#38bdf8" fill-opacity="0.9"/>' +
  '<circle cx="58" cy="48" r="22" fill="#a78bfa" fill-opacity="0.9"/>' +
  '<path d="M48 28.4a22 22 0 0 1 0 39.2a22 22 0 0 1 0-39.2z" fill="#f8fafc" fill-opacity="0.85"/>' +
  '</svg>';

/** EIP-6963 wants a data URI; the SVG is ASCII, so btoa is enough. */
export const TANDEM_ICON_DATA_URI = `data:image/svg+xml;base64,${btoa(TANDEM_ICON_SVG)}`;
