// The browser's WebSocket for Unity WebGL builds: keeps the server's hello and only the
// newest message, which WebGLWebSocket.cs polls once per frame.
mergeInto(LibraryManager.library, {
  $EmotionPerceptionSockets: [],

  EmotionPerception_Open__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_Open: function (url, hello) {
    var entry = { socket: new WebSocket(UTF8ToString(url)), hello: null, newest: null };
    var greeting = UTF8ToString(hello);
    entry.socket.onopen = function () { entry.socket.send(greeting); };
    entry.socket.onmessage = function (event) {
      if (entry.hello === null) entry.hello = event.data; else entry.newest = event.data;
    };
    EmotionPerceptionSockets.push(entry);
    return EmotionPerceptionSockets.length - 1;
  },

  EmotionPerception_State__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_State: function (id) {
    var entry = EmotionPerceptionSockets[id];
    return entry ? entry.socket.readyState : 3;
  },

  EmotionPerception_Hello__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_Hello: function (id) {
    var text = (EmotionPerceptionSockets[id] || {}).hello || '';
    var size = lengthBytesUTF8(text) + 1;
    var buffer = _malloc(size);
    stringToUTF8(text, buffer, size);
    return buffer;
  },

  EmotionPerception_Newest__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_Newest: function (id) {
    var entry = EmotionPerceptionSockets[id];
    var text = (entry && entry.newest) || '';
    if (entry) entry.newest = null;
    var size = lengthBytesUTF8(text) + 1;
    var buffer = _malloc(size);
    stringToUTF8(text, buffer, size);
    return buffer;
  },

  EmotionPerception_Send__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_Send: function (id, message) {
    var entry = EmotionPerceptionSockets[id];
    if (entry && entry.socket.readyState === 1) entry.socket.send(UTF8ToString(message));
  },

  EmotionPerception_Close__deps: ['$EmotionPerceptionSockets'],
  EmotionPerception_Close: function (id) {
    var entry = EmotionPerceptionSockets[id];
    if (entry) { entry.socket.close(); EmotionPerceptionSockets[id] = null; }
  },
});
