// Kruzhok service worker: shows a Web Push notification, tells the server it was shown (the
// delivery's confirmation: without it the next channel is tried), and opens its page on click.
self.addEventListener("push", (event) => {
  let data = { title: "Кружок", body: "", url: "/messaging/", ack: "" };
  try { data = Object.assign(data, event.data ? event.data.json() : {}); } catch (e) { /* plain text push */ }
  const shown = self.registration.showNotification(data.title, { body: data.body, data: { url: data.url } });
  const acked = data.ack
    ? shown.then(() => fetch(data.ack, { method: "POST", credentials: "omit" })).catch(() => null)
    : shown;
  event.waitUntil(acked);
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/messaging/";
  event.waitUntil(clients.openWindow(url));
});
