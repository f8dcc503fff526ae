// Kruzhok service worker: shows a Web Push notification and opens its page on click.
self.addEventListener("push", (event) => {
  let data = { title: "Кружок", body: "", url: "/messaging/" };
  try { data = Object.assign(data, event.data ? event.data.json() : {}); } catch (e) { /* plain text push */ }
  event.waitUntil(self.registration.showNotification(data.title, { body: data.body, data: { url: data.url } }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/messaging/";
  event.waitUntil(clients.openWindow(url));
});
