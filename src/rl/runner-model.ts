/**
 * The planar running robot of the locomotion tasks, in MuJoCo's MJCF, written for metagrad (see
 * docs/rl.md): a 1 m capsule torso on a slide-slide-hinge root (x, z, pitch), a back and a front
 * leg of thigh, shin and foot, six hinge joints with position limits, springs and damping, and six
 * torque motors (gears 120/90/60 back, 120/60/30 front; controls in [−1, 1]); 14 kg in all,
 * 0.01 s physics steps.
 */
export const RUNNER_MJCF = `<mujoco model="metagrad-planar-runner">
  <compiler angle="radian" inertiafromgeom="true" settotalmass="14"/>
  <option timestep="0.01" gravity="0 0 -9.81"/>
  <default>
    <joint limited="true" armature="0.1" damping="0.05" stiffness="6" solreflimit="0.02 1" solimplimit="0 0.8 0.03"/>
    <geom type="capsule" size="0.045" contype="1" conaffinity="0" condim="3" friction="0.5 0.1 0.1" solref="0.02 1" solimp="0 0.8 0.01"/>
    <motor ctrllimited="true" ctrlrange="-1 1"/>
  </default>
  <worldbody>
    <geom name="ground" type="plane" size="100 100 1" conaffinity="1"/>
    <body name="torso" pos="0 0 0.65">
      <joint name="rootx" type="slide" axis="1 0 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="spine" fromto="-0.5 0 0 0.5 0 0"/>
      <geom name="neck" fromto="0.5 0 0 0.68 0 0.14"/>
      <body name="back_thigh" pos="-0.5 0 0">
        <joint name="back_hip" axis="0 1 0" range="-0.55 1.0" stiffness="200" damping="5"/>
        <geom fromto="0 0 0 0.12 0 -0.26"/>
        <body name="back_shin" pos="0.12 0 -0.26">
          <joint name="back_knee" axis="0 1 0" range="-0.8 0.8" stiffness="150" damping="4"/>
          <geom fromto="0 0 0 -0.22 0 -0.16"/>
          <body name="back_foot" pos="-0.22 0 -0.16">
            <joint name="back_ankle" axis="0 1 0" range="-0.4 0.8" stiffness="100" damping="3"/>
            <geom fromto="0 0 0 0.04 0 -0.17"/>
          </body>
        </body>
      </body>
      <body name="front_thigh" pos="0.5 0 0">
        <joint name="front_hip" axis="0 1 0" range="-1.0 0.7" stiffness="180" damping="4.5"/>
        <geom fromto="0 0 0 -0.1 0 -0.24"/>
        <body name="front_shin" pos="-0.1 0 -0.24">
          <joint name="front_knee" axis="0 1 0" range="-1.2 0.85" stiffness="120" damping="3"/>
          <geom fromto="0 0 0 0.12 0 -0.2"/>
          <body name="front_foot" pos="0.12 0 -0.2">
            <joint name="front_ankle" axis="0 1 0" range="-0.5 0.5" stiffness="60" damping="1.5"/>
            <geom fromto="0 0 0 0.04 0 -0.12"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="back_hip" gear="120"/>
    <motor joint="back_knee" gear="90"/>
    <motor joint="back_ankle" gear="60"/>
    <motor joint="front_hip" gear="120"/>
    <motor joint="front_knee" gear="60"/>
    <motor joint="front_ankle" gear="30"/>
  </actuator>
</mujoco>`;
