// Never download a browser: `make diagrams` renders with Debian's /usr/bin/chromium.
module.exports = { skipDownload: true };
