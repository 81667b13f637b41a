"""JupyterLab in the browser: the page scripts the end-to-end tests evaluate (test_lab_in_browser, test_hub_class)."""

# Every code cell's prompt, and every output's MIME type, text and images, read in one go.
# textContent, not innerText: off-screen cells are skipped by the renderer (content-visibility).
READ_NOTEBOOK = """panel => ({
  prompts: [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim()),
  outputs: [...panel.querySelectorAll('.jp-OutputArea-output')].map(e => ({
    mime: e.dataset.mimeType || '',
    text: e.textContent,
    images: [...e.querySelectorAll('img')].map(img => (img.getAttribute('src') || '').slice(0, 22)),
  })),
  status: (panel.querySelector('.jp-Notebook-ExecutionIndicator') || {dataset: {}}).dataset.status,
})"""

# Done: kernel idle, nothing queued ([*]), and every cell counted or an error output shown.
RUN_FINISHED = """panel => {
  const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  const stderr = [...panel.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.textContent);
  const counted = prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
  const failed = stderr.some(t => /Traceback|Error/.test(t));
  return !!ind && ind.dataset.status === 'idle' && !prompts.includes('[*]:') && (counted || failed);
}"""
