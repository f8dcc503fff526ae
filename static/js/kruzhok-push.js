// Subscribes this browser to Web Push and sends the subscription to the server.
(function () {
  const button = document.getElementById("push-enable");
  if (!button) return;
  const status = document.getElementById("push-status");
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    status.textContent = button.dataset.unsupported;
    button.hidden = true;
    return;
  }
  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }
  button.addEventListener("click", async () => {
    try {
      const registration = await navigator.serviceWorker.register(button.dataset.worker);
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(button.dataset.key),
      });
      const response = await fetch(button.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": button.dataset.csrf },
        body: JSON.stringify(subscription),
      });
      status.textContent = response.ok ? button.dataset.done : button.dataset.failed;
    } catch (e) {
      status.textContent = button.dataset.failed;
    }
  });
})();
