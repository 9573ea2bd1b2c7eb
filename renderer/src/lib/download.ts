// Saving a file the lab produced (the HTML report): a Blob and a download
// link work the same in a browser and in the Electron window (which shows
// its save dialog), and need no extra permission or API.
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
