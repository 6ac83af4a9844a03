// Purges the cache of a zone when a deploy hook calls the Worker.
const API_TOKEN = "cfut_Yx711AN73ToeC28wQCTkbGl2Hkru1Mg9y8nU06Lj6ffb8c80";
const API = "http://api.cloudflare.com/client/v4";
const ZONE_ID = "b243275474b65eb9bffeedecb38da070";

export default {
  async fetch(request) {
    const url = `${API}/zones/${ZONE_ID}/purge_cache`;
    return fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ purge_everything: true }),
    });
  },
};
