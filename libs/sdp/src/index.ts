// Public surface of @trapezoid/sdp.
export {};
