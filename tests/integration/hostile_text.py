"""An error message written in HTML: markup that would load an image, run a script and change the
page's title if a page parsed it. hostile_durable.py fails Division with it; the console's test
reads it from here, without importing that function (which patches the real one's operations)."""

HOSTILE_MESSAGE = (
    '<img src="x" onerror="document.title=\'owned\'">'
    '<script>document.title="owned"</script><b id="injected">bold</b>'
)
