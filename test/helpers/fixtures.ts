/** The example from the ECS material the project starts from; it must register and run unchanged. */
export const WEBSERVER = {
  family: "webserver",
  containerDefinitions: [{ name: "web", image: "nginx", memory: "100", cpu: "99" }],
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  memory: "512",
  cpu: "256",
};
